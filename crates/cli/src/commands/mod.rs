pub mod hunt;
pub mod rules;
