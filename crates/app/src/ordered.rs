//! Parallel work with ordered, streaming output.
//!
//! Workers take items in order from a shared counter (so the earliest
//! unfinished item is always being worked on) and never run more than
//! `window` items ahead of the last one emitted (so memory holds at most a
//! window of results). The caller's thread emits the results in item
//! order as soon as each is next: the output is the same whatever the
//! thread count, and a slow item does not stall the others.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, mpsc};

/// Runs `work` on every item on the rayon pool and passes the results to
/// `emit` in item order. Stops early (and returns the error) when `emit`
/// fails.
pub fn run_ordered<T, R, E>(
    items: &[T],
    window: usize,
    work: impl Fn(&T) -> R + Sync,
    mut emit: impl FnMut(R) -> Result<(), E>,
) -> Result<(), E>
where
    T: Sync,
    R: Send,
{
    let window = window.max(1);
    let next_item = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    // How many results have been emitted, for the window.
    let emitted = Mutex::new(0usize);
    let advanced = Condvar::new();
    let (tx, rx) = mpsc::channel::<(usize, R)>();
    let mut outcome = Ok(());
    std::thread::scope(|threads| {
        let (next_item, stop, emitted, advanced, work) = (&next_item, &stop, &emitted, &advanced, &work);
        threads.spawn(move || {
            rayon::scope(|pool| {
                for _ in 0..rayon::current_num_threads().max(1) {
                    let tx = tx.clone();
                    pool.spawn(move |_| {
                        loop {
                            let i = next_item.fetch_add(1, Ordering::SeqCst);
                            if i >= items.len() || stop.load(Ordering::SeqCst) {
                                return;
                            }
                            let mut done = emitted.lock().unwrap_or_else(|e| e.into_inner());
                            while i >= *done + window && !stop.load(Ordering::SeqCst) {
                                done = advanced.wait(done).unwrap_or_else(|e| e.into_inner());
                            }
                            drop(done);
                            if tx.send((i, work(&items[i]))).is_err() {
                                return;
                            }
                        }
                    });
                }
            });
            drop(tx);
        });
        let mut pending: BTreeMap<usize, R> = BTreeMap::new();
        let mut next = 0;
        for (i, result) in rx {
            pending.insert(i, result);
            while let Some(result) = pending.remove(&next) {
                next += 1;
                if outcome.is_ok() {
                    outcome = emit(result);
                }
                if outcome.is_err() {
                    stop.store(true, Ordering::SeqCst);
                }
                *emitted.lock().unwrap_or_else(|e| e.into_inner()) = next;
                advanced.notify_all();
            }
        }
    });
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_out_in_item_order_whatever_the_timing() {
        let items: Vec<u64> = (0..200).collect();
        let mut seen = Vec::new();
        let result: Result<(), ()> = run_ordered(
            &items,
            4,
            |&i| {
                // Early items are the slow ones.
                std::thread::sleep(std::time::Duration::from_micros((200 - i) * 20));
                i * 2
            },
            |r| {
                seen.push(r);
                Ok(())
            },
        );
        assert!(result.is_ok());
        assert_eq!(seen, items.iter().map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn an_emit_error_stops_the_run() {
        let items: Vec<u32> = (0..1000).collect();
        let mut count = 0;
        let result = run_ordered(
            &items,
            2,
            |&i| i,
            |i| {
                count += 1;
                if i == 10 { Err("sink full") } else { Ok(()) }
            },
        );
        assert_eq!(result, Err("sink full"));
        assert!(count <= 11);
    }
}
