//! Cloud audit records: recognised by their shape, marked with
//! `cloud.provider` and `cloud.service` (the Sigma `product` and `service`
//! their rules name, which the router uses), kind [`SourceKind::Cloud`],
//! and timed by the provider's own time field.
//!
//! | shape | provider / service | time |
//! | --- | --- | --- |
//! | `eventVersion`, `eventSource`, `eventName`, `awsRegion` (CloudTrail) | `aws` / `cloudtrail` | `eventTime` |
//! | `category` + `operationName` (Azure Monitor export): `SignInLogs` and the other `*SignInLogs` | `azure` / `signinlogs` | `time` |
//! | … `AuditLogs` | `azure` / `auditlogs` | `time` |
//! | … `Administrative`, `Security`, `Policy`, `Alert`, `Recommendation`, `ServiceHealth`, `ResourceHealth`, `Autoscale` | `azure` / `activitylogs` | `time` |
//! | … `UserRiskEvents`, `RiskyUsers`, `ServicePrincipalRiskEvents`, `RiskyServicePrincipals` | `azure` / `riskdetection` | `time` |
//! | `Type` (Log Analytics table): `SigninLogs`, `AAD*SignInLogs` / `AuditLogs` / `AzureActivity` / `AADUserRiskEvents`, `AADRiskyUsers` | as above | `TimeGenerated` |
//! | `eventTimestamp` + `operationName.value` + `category.value` (Activity Log REST / portal export) | `azure` / `activitylogs` | `eventTimestamp` |
//! | `createdDateTime` + `userPrincipalName` + `appDisplayName` (Graph sign-in) | `azure` / `signinlogs` | `createdDateTime` |
//! | `activityDateTime` + `activityDisplayName` + `loggedByService` (Graph directory audit) | `azure` / `auditlogs` | `activityDateTime` |
//! | `riskEventType` + `detectedDateTime` (Graph risk detection) | `azure` / `riskdetection` | `activityDateTime`, `detectedDateTime` |
//! | `protoPayload.@type` = `type.googleapis.com/google.cloud.audit.AuditLog` (also under `data.`, the Pub/Sub form), or Elastic's `gcp.audit` object | `gcp` / `gcp.audit` | `timestamp` (`data.timestamp`), `@timestamp` |
//! | `eventType` + object `actor` + `legacyEventType` or `uuid` (Okta System Log) | `okta` / `okta` | `published` |
//! | `Workload`, `Operation`, `RecordType` (Office 365 Management Activity) | `m365` / `audit` | `CreationTime` |
//! | `kind` = `Event`, `apiVersion` = `audit.k8s.io/…` | `kubernetes` / `audit` | `requestReceivedTimestamp`, `stageTimestamp` |
//! | `action` + string `actor` + `org`, `@timestamp`, `created_at` or `_document_id` (GitHub audit log) | `github` / `audit` | `@timestamp`, `created_at` (ms epoch or text) |
//!
//! Shapes are tried in this order; the first that fits wins. Every field
//! of the record stays as the generic JSON flattening made it. Decisions:
//!
//! * A record that already has `cloud.provider` or `cloud.service` (ECS
//!   documents) keeps its own value; ours is not added beside it.
//! * Activity Log REST records wrap names in `{"value", "localizedValue"}`;
//!   their `operationName` and `category` get the plain `value` too, since
//!   rules compare `operationName` with the plain text.
//! * A record whose time field is missing or unreadable falls back to the
//!   generic JSON time fields.

use ferret_model::{Event, FieldCache, SourceKind, Timestamp, Value};

use crate::time::{parse_epoch, parse_timestamp};
use crate::windows::JsonTree;

const GCP_AUDIT: &str = "type.googleapis.com/google.cloud.audit.AuditLog";

/// A recognised record: who wrote it and where its time is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub provider: &'static str,
    pub service: &'static str,
    /// Dotted paths of the time fields, in order of preference.
    pub time: &'static [&'static str],
}

const fn shape(provider: &'static str, service: &'static str, time: &'static [&'static str]) -> Option<Shape> {
    Some(Shape { provider, service, time })
}

/// Recognises a cloud record from its JSON object, or `None`.
pub fn recognise<J: JsonTree>(obj: &J) -> Option<Shape> {
    let has = |key: &str| obj.get(key).is_some();
    let text = |key: &str| obj.get(key).and_then(J::text);
    if text("kind") == Some("Event") && text("apiVersion").is_some_and(|v| v.starts_with("audit.k8s.io/")) {
        return shape("kubernetes", "audit", &["requestReceivedTimestamp", "stageTimestamp"]);
    }
    if has("eventVersion") && has("eventSource") && has("eventName") && has("awsRegion") {
        return shape("aws", "cloudtrail", &["eventTime"]);
    }
    if let Some(found) = gcp(obj) {
        return Some(found);
    }
    if let Some(found) = azure(obj) {
        return Some(found);
    }
    if has("eventType") && obj.get("actor").is_some_and(J::is_object) && (has("legacyEventType") || has("uuid")) {
        return shape("okta", "okta", &["published"]);
    }
    if has("Workload") && has("Operation") && has("RecordType") {
        return shape("m365", "audit", &["CreationTime"]);
    }
    let github_marker = has("org") || has("@timestamp") || has("created_at") || has("_document_id");
    if text("action").is_some() && text("actor").is_some() && github_marker {
        return shape("github", "audit", &["@timestamp", "created_at"]);
    }
    None
}

fn gcp<J: JsonTree>(obj: &J) -> Option<Shape> {
    let audit_type =
        |root: &J| root.get("protoPayload").and_then(|p| p.get("@type")).and_then(J::text) == Some(GCP_AUDIT);
    if audit_type(obj) {
        return shape("gcp", "gcp.audit", &["timestamp", "receiveTimestamp"]);
    }
    if let Some(data) = obj.get("data").filter(|d| d.is_object())
        && audit_type(data)
    {
        return shape("gcp", "gcp.audit", &["data.timestamp", "data.receiveTimestamp", "publish_time"]);
    }
    // Elastic's gcp.audit documents: {"gcp": {"audit": {...}}}.
    if obj.get("gcp").and_then(|g| g.get("audit")).is_some_and(J::is_object) {
        return shape("gcp", "gcp.audit", &["@timestamp"]);
    }
    None
}

fn azure<J: JsonTree>(obj: &J) -> Option<Shape> {
    let has = |key: &str| obj.get(key).is_some();
    let text = |key: &str| obj.get(key).and_then(J::text);
    // Azure Monitor diagnostic export (Event Hub, storage account).
    if let (Some(category), true) = (text("category"), has("operationName")) {
        let time: &'static [&'static str] = &["time"];
        return match category.to_ascii_lowercase().as_str() {
            "signinlogs"
            | "noninteractiveusersigninlogs"
            | "serviceprincipalsigninlogs"
            | "managedidentitysigninlogs"
            | "adfssigninlogs" => shape("azure", "signinlogs", time),
            "auditlogs" => shape("azure", "auditlogs", time),
            "administrative" | "security" | "policy" | "alert" | "recommendation" | "servicehealth"
            | "resourcehealth" | "autoscale" => shape("azure", "activitylogs", time),
            "userriskevents" | "riskyusers" | "serviceprincipalriskevents" | "riskyserviceprincipals" => {
                shape("azure", "riskdetection", time)
            }
            _ => None,
        };
    }
    // Log Analytics rows name their table in `Type`.
    if let Some(table) = text("Type").filter(|_| has("TimeGenerated")) {
        let time: &'static [&'static str] = &["TimeGenerated"];
        return match table {
            "SigninLogs"
            | "AADNonInteractiveUserSignInLogs"
            | "AADServicePrincipalSignInLogs"
            | "AADManagedIdentitySignInLogs" => shape("azure", "signinlogs", time),
            "AuditLogs" => shape("azure", "auditlogs", time),
            "AzureActivity" => shape("azure", "activitylogs", time),
            "AADUserRiskEvents" | "AADRiskyUsers" | "AADServicePrincipalRiskEvents" => {
                shape("azure", "riskdetection", time)
            }
            _ => None,
        };
    }
    let value_of = |key: &str| obj.get(key).and_then(|v| v.get("value")).is_some();
    if has("eventTimestamp") && value_of("operationName") && value_of("category") {
        return shape("azure", "activitylogs", &["eventTimestamp"]);
    }
    if has("createdDateTime") && has("userPrincipalName") && has("appDisplayName") {
        return shape("azure", "signinlogs", &["createdDateTime"]);
    }
    if has("activityDateTime") && has("activityDisplayName") && has("loggedByService") {
        return shape("azure", "auditlogs", &["activityDateTime"]);
    }
    if has("riskEventType") && has("detectedDateTime") {
        return shape("azure", "riskdetection", &["activityDateTime", "detectedDateTime"]);
    }
    None
}

/// Marks `event` (already flattened from `obj`) as a cloud record when it
/// is one; returns whether it was.
pub fn annotate<J: JsonTree>(obj: &J, event: &mut Event, fields: &mut FieldCache) -> bool {
    let Some(shape) = recognise(obj) else {
        return false;
    };
    event.kind = SourceKind::Cloud;
    let (provider, service) = (fields.intern("cloud.provider"), fields.intern("cloud.service"));
    if !event.has(provider) {
        event.push(provider, Value::text(shape.provider));
    }
    if !event.has(service) {
        event.push(service, Value::text(shape.service));
    }
    if event.timestamp.is_none() {
        event.timestamp = shape.time.iter().find_map(|path| lookup(obj, path).and_then(time_of));
    }
    if shape.service == "activitylogs" {
        for key in ["operationName", "category"] {
            if let Some(value) = obj.get(key).and_then(|v| v.get("value")).and_then(J::text) {
                event.push(fields.intern(key), Value::text(value));
            }
        }
    }
    true
}

/// The value at a dotted path (`data.timestamp`).
fn lookup<'a, J: JsonTree>(obj: &'a J, path: &str) -> Option<&'a J> {
    if let Some(value) = obj.get(path) {
        return Some(value);
    }
    let (head, rest) = path.split_once('.')?;
    obj.get(head).filter(|inner| inner.is_object()).and_then(|inner| lookup(inner, rest))
}

fn time_of<J: JsonTree>(value: &J) -> Option<Timestamp> {
    match value.scalar()? {
        Value::Text(text) => parse_timestamp(&text).or_else(|| parse_epoch(text.trim())),
        Value::Number(n) => parse_epoch(&n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ferret_model::{FieldNames, Location, Provenance};

    use super::*;

    fn run(json: &str) -> (Arc<FieldNames>, Event) {
        let names = FieldNames::new();
        let mut fields = FieldCache::new(names.clone());
        let obj: serde_json::Value = serde_json::from_str(json).unwrap();
        assert!(obj.is_object(), "not an object");
        let mut event = Event::new(SourceKind::Json, Provenance { source: "t".into(), location: Location::Line(1) });
        annotate(&obj, &mut event, &mut fields);
        (names, event)
    }

    fn summary(json: &str) -> (String, Option<String>, Option<String>, Option<String>) {
        let (names, event) = run(json);
        let get = |name| event.get(&names, name).map(ToString::to_string);
        (
            event.kind.as_str().to_owned(),
            get("cloud.provider"),
            get("cloud.service"),
            event.timestamp.map(|t| t.to_string()),
        )
    }

    fn cloud(provider: &str, service: &str, time: &str) -> (String, Option<String>, Option<String>, Option<String>) {
        ("cloud".into(), Some(provider.into()), Some(service.into()), Some(time.into()))
    }

    #[test]
    fn each_provider_by_shape_with_its_time() {
        let cases = [
            (
                r#"{"eventVersion":"1.08","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","eventTime":"2024-07-31T12:46:41Z"}"#,
                cloud("aws", "cloudtrail", "2024-07-31T12:46:41Z"),
            ),
            (
                r#"{"time":"2024-01-02T03:04:05.1234567Z","category":"SignInLogs","operationName":"Sign-in activity","resultType":"50126"}"#,
                cloud("azure", "signinlogs", "2024-01-02T03:04:05.1234567Z"),
            ),
            (
                r#"{"time":"2024-01-02T03:04:05Z","category":"AuditLogs","operationName":"Add member to role"}"#,
                cloud("azure", "auditlogs", "2024-01-02T03:04:05Z"),
            ),
            (
                r#"{"time":"2024-01-02T03:04:05Z","category":"Administrative","operationName":"MICROSOFT.COMPUTE/VIRTUALMACHINES/DELETE","resourceId":"/x"}"#,
                cloud("azure", "activitylogs", "2024-01-02T03:04:05Z"),
            ),
            (
                r#"{"TimeGenerated":"2024-01-02T03:04:05Z","Type":"AzureActivity","OperationNameValue":"X"}"#,
                cloud("azure", "activitylogs", "2024-01-02T03:04:05Z"),
            ),
            (
                r#"{"createdDateTime":"2024-01-02T03:04:05Z","userPrincipalName":"a@b","appDisplayName":"Teams"}"#,
                cloud("azure", "signinlogs", "2024-01-02T03:04:05Z"),
            ),
            (
                r#"{"activityDateTime":"2024-01-02T03:04:05Z","activityDisplayName":"Add user","loggedByService":"Core Directory"}"#,
                cloud("azure", "auditlogs", "2024-01-02T03:04:05Z"),
            ),
            (
                r#"{"riskEventType":"anonymizedIPAddress","detectedDateTime":"2024-01-02T03:04:05Z"}"#,
                cloud("azure", "riskdetection", "2024-01-02T03:04:05Z"),
            ),
            (
                r#"{"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","methodName":"x"},"timestamp":"2024-01-02T03:04:05.123456789Z"}"#,
                cloud("gcp", "gcp.audit", "2024-01-02T03:04:05.123456789Z"),
            ),
            (
                r#"{"data":{"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog"},"timestamp":"2024-01-02T03:04:05Z"}}"#,
                cloud("gcp", "gcp.audit", "2024-01-02T03:04:05Z"),
            ),
            (
                r#"{"eventType":"user.session.start","actor":{"id":"x"},"uuid":"u","published":"2024-01-02T03:04:05.000Z"}"#,
                cloud("okta", "okta", "2024-01-02T03:04:05Z"),
            ),
            (
                r#"{"CreationTime":"2024-01-02T03:04:05","Workload":"Exchange","Operation":"New-InboxRule","RecordType":1}"#,
                cloud("m365", "audit", "2024-01-02T03:04:05Z"),
            ),
            (
                r#"{"@timestamp":1606929874512,"action":"team.add_member","actor":"octocat","org":"octo-org"}"#,
                cloud("github", "audit", "2020-12-02T17:24:34.512Z"),
            ),
            (
                r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","verb":"delete","stageTimestamp":"2024-01-02T03:04:06Z","requestReceivedTimestamp":"2024-01-02T03:04:05Z"}"#,
                cloud("kubernetes", "audit", "2024-01-02T03:04:05Z"),
            ),
        ];
        for (json, want) in cases {
            assert_eq!(summary(json), want, "{json}");
        }
    }

    #[test]
    fn near_misses_stay_generic() {
        for json in [
            r#"{"eventName":"CreateUser","eventSource":"iam.amazonaws.com"}"#,
            r#"{"category":"Other","operationName":"x"}"#,
            r#"{"eventType":"x","actor":"not an object","uuid":"u"}"#,
            r#"{"action":"x","actor":{"id":1},"org":"o"}"#,
            r#"{"kind":"Event","apiVersion":"v1"}"#,
            r#"{"protoPayload":{"@type":"type.googleapis.com/other"}}"#,
        ] {
            let (kind, provider, ..) = summary(json);
            assert_eq!((kind.as_str(), provider), ("json", None), "{json}");
        }
    }

    #[test]
    fn activity_rest_records_get_plain_names_and_ecs_keeps_its_own() {
        let (names, event) = run(
            r#"{"eventTimestamp":"2024-01-02T03:04:05Z","operationName":{"value":"Microsoft.Compute/virtualMachines/delete","localizedValue":"Delete VM"},"category":{"value":"Administrative"}}"#,
        );
        assert_eq!(event.kind, SourceKind::Cloud);
        assert_eq!(
            event.get(&names, "operationName").map(ToString::to_string).as_deref(),
            Some("Microsoft.Compute/virtualMachines/delete")
        );
        let names = FieldNames::new();
        let mut fields = FieldCache::new(names.clone());
        let obj = serde_json::json!({"gcp": {"audit": {"method_name": "x"}}, "cloud": {"provider": "gcp"}});
        let mut event = Event::new(SourceKind::Json, Provenance { source: "t".into(), location: Location::Line(1) });
        event.push(fields.intern("cloud.provider"), Value::text("gcp"));
        assert!(annotate(&obj, &mut event, &mut fields));
        assert_eq!(event.values(names.get("cloud.provider").unwrap()).count(), 1);
        assert_eq!(event.get(&names, "cloud.service").map(ToString::to_string).as_deref(), Some("gcp.audit"));
    }
}
