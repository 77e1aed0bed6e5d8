//! Parallel work with ordered, streaming output.
//!
//! Workers take items in order from a shared counter (so the earliest
//! unfinished item is always being worked on) and never run more than
//! `window` items ahead of the item being emitted. Each item's work sends
//! its output as a sequence of parts; the caller's thread emits the parts
//! in item order, and within an item in the order they were sent:
//!
//! * the parts of the item at the head of the order are emitted as they
//!   arrive, so one huge input streams (its alerts are not held until it
//!   ends);
//! * parts of later items wait in memory, at most `buffered` of them in
//!   all: a worker whose item is not at the head waits before sending more.
//!   Memory is bounded by `buffered` parts (plus each item's one final
//!   part, see [`Parts::finish`]), whatever the input.
//!
//! The bound is on parts, not items, so that many small items can be done
//! ahead while a large one is at the head: with a bound on items, both
//! cores waited behind every large EVTX file of a directory.
//!
//! The output is the same whatever the thread count.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, mpsc};

enum Message<P> {
    /// A part of an item; `true` when it counts towards the bound.
    Part(usize, P, bool),
    Done(usize),
}

struct Flow {
    /// The item whose parts are being emitted.
    head: usize,
    /// Bounded parts sent and not emitted yet.
    in_flight: usize,
}

/// Sends one item's parts to the emitting thread.
pub struct Parts<'a, P> {
    item: usize,
    tx: mpsc::Sender<Message<P>>,
    flow: &'a Mutex<Flow>,
    moved: &'a Condvar,
    stop: &'a AtomicBool,
    buffered: usize,
}

impl<P> Parts<'_, P> {
    /// Hands a part over; waits while this item is not at the head and
    /// `buffered` parts are already waiting to be emitted.
    pub fn send(&mut self, part: P) {
        let mut flow = self.flow.lock().unwrap_or_else(|e| e.into_inner());
        while flow.head != self.item && flow.in_flight >= self.buffered && !self.stop.load(Ordering::SeqCst) {
            flow = self.moved.wait(flow).unwrap_or_else(|e| e.into_inner());
        }
        if self.stop.load(Ordering::SeqCst) {
            return;
        }
        flow.in_flight += 1;
        drop(flow);
        let _ = self.tx.send(Message::Part(self.item, part, true));
    }

    /// Hands over the item's last part (a small summary) without waiting:
    /// a finished item never holds a worker.
    pub fn finish(&mut self, part: P) {
        let _ = self.tx.send(Message::Part(self.item, part, false));
    }
}

/// Runs `work` on every item on the rayon pool and passes the parts each
/// sends to `emit`, in item order. Stops early (and returns the error)
/// when `emit` fails.
pub fn run_ordered<T, P, E>(
    items: &[T],
    window: usize,
    buffered: usize,
    work: impl Fn(&T, &mut Parts<'_, P>) + Sync,
    mut emit: impl FnMut(P) -> Result<(), E>,
) -> Result<(), E>
where
    T: Sync,
    P: Send,
{
    let window = window.max(1);
    let buffered = buffered.max(1);
    let next_item = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let flow = Mutex::new(Flow { head: 0, in_flight: 0 });
    let moved = Condvar::new();
    let (tx, rx) = mpsc::channel::<Message<P>>();
    let mut outcome = Ok(());
    std::thread::scope(|threads| {
        let (next_item, stop, flow, moved, work) = (&next_item, &stop, &flow, &moved, &work);
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
                            let mut state = flow.lock().unwrap_or_else(|e| e.into_inner());
                            while i >= state.head + window && !stop.load(Ordering::SeqCst) {
                                state = moved.wait(state).unwrap_or_else(|e| e.into_inner());
                            }
                            drop(state);
                            let mut parts = Parts { item: i, tx: tx.clone(), flow, moved, stop, buffered };
                            let worked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                work(&items[i], &mut parts);
                            }));
                            if let Err(panic) = worked {
                                // Without this item's end, the others would
                                // wait for it forever: stop them, then let
                                // the panic reach the caller.
                                halt(flow, moved, stop);
                                std::panic::resume_unwind(panic);
                            }
                            if tx.send(Message::Done(i)).is_err() {
                                return;
                            }
                        }
                    });
                }
            });
            drop(tx);
        });
        let mut pending: BTreeMap<usize, VecDeque<(P, bool)>> = BTreeMap::new();
        let mut done = std::collections::BTreeSet::new();
        let mut head = 0;
        let mut emit_one = |part: P, counted: bool, outcome: &mut Result<(), E>| {
            if outcome.is_ok() {
                *outcome = emit(part);
            }
            if outcome.is_err() {
                halt(flow, moved, stop);
            }
            if counted {
                flow.lock().unwrap_or_else(|e| e.into_inner()).in_flight -= 1;
                moved.notify_all();
            }
        };
        for message in rx {
            match message {
                Message::Part(i, part, counted) if i == head => emit_one(part, counted, &mut outcome),
                Message::Part(i, part, counted) => pending.entry(i).or_default().push_back((part, counted)),
                Message::Done(i) => {
                    done.insert(i);
                }
            }
            // Advance past finished items, emitting what the next one sent.
            while done.remove(&head) {
                head += 1;
                flow.lock().unwrap_or_else(|e| e.into_inner()).head = head;
                moved.notify_all();
                for (part, counted) in pending.remove(&head).unwrap_or_default() {
                    emit_one(part, counted, &mut outcome);
                }
            }
        }
    });
    outcome
}

/// Stops every worker: set under the lock the waiting workers check it
/// under, so none can miss the wake-up.
fn halt(flow: &Mutex<Flow>, moved: &Condvar, stop: &AtomicBool) {
    let guard = flow.lock().unwrap_or_else(|e| e.into_inner());
    stop.store(true, Ordering::SeqCst);
    drop(guard);
    moved.notify_all();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_come_out_in_item_order_whatever_the_timing() {
        let items: Vec<u64> = (0..200).collect();
        let mut seen = Vec::new();
        let result: Result<(), ()> = run_ordered(
            &items,
            4,
            2,
            |&i, parts| {
                // Early items are the slow ones; each sends three parts.
                std::thread::sleep(std::time::Duration::from_micros((200 - i) * 20));
                for k in 0..3 {
                    parts.send(i * 10 + k);
                }
            },
            |r| {
                seen.push(r);
                Ok(())
            },
        );
        assert!(result.is_ok());
        assert_eq!(seen, items.iter().flat_map(|i| (0..3).map(move |k| i * 10 + k)).collect::<Vec<_>>());
    }

    #[test]
    fn a_later_item_waits_once_its_buffer_is_full() {
        // Item 0 is slow; item 1 sends 100 parts but may only get 3 ahead.
        let items = [0u32, 1];
        let most_waiting = Mutex::new(0usize);
        let sent_by_1 = AtomicUsize::new(0);
        let emitted_0 = AtomicBool::new(false);
        let result: Result<(), ()> = run_ordered(
            &items,
            2,
            3,
            |&i, parts| {
                if i == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    parts.send((0, 0));
                } else {
                    for k in 0..100 {
                        parts.send((1, k));
                        let sent = sent_by_1.fetch_add(1, Ordering::SeqCst) + 1;
                        if !emitted_0.load(Ordering::SeqCst) {
                            let mut most = most_waiting.lock().unwrap();
                            *most = (*most).max(sent);
                        }
                    }
                }
            },
            |(item, _)| {
                if item == 0 {
                    emitted_0.store(true, Ordering::SeqCst);
                }
                Ok(())
            },
        );
        assert!(result.is_ok());
        assert_eq!(sent_by_1.load(Ordering::SeqCst), 100);
        assert!(*most_waiting.lock().unwrap() <= 3, "item 1 ran {} parts ahead", most_waiting.lock().unwrap());
    }

    #[test]
    fn small_items_get_done_while_a_slow_one_is_at_the_head() {
        // Item 0 takes 200 ms; the 60 others only finish. With a bound on
        // parts rather than items, they are all done before item 0 is.
        let items: Vec<u32> = (0..61).collect();
        let done_before_0 = AtomicUsize::new(0);
        let finished_0 = AtomicBool::new(false);
        let result: Result<(), ()> = run_ordered(
            &items,
            64,
            2,
            |&i, parts| {
                if i == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    finished_0.store(true, Ordering::SeqCst);
                } else if !finished_0.load(Ordering::SeqCst) {
                    done_before_0.fetch_add(1, Ordering::SeqCst);
                }
                parts.finish(i);
            },
            |_| Ok(()),
        );
        assert!(result.is_ok());
        if rayon::current_num_threads() > 1 {
            assert_eq!(done_before_0.load(Ordering::SeqCst), 60);
        }
    }

    #[test]
    fn parts_waiting_behind_the_head_are_bounded_in_all() {
        // Item 0 is slow; items 1..=9 send 10 parts each. While item 0 is
        // being worked on, no more than 5 of theirs may be handed over,
        // whichever items they come from.
        let items: Vec<u32> = (0..10).collect();
        let sent_ahead = AtomicUsize::new(0);
        let finished_0 = AtomicBool::new(false);
        let result: Result<(), ()> = run_ordered(
            &items,
            64,
            5,
            |&i, parts| {
                if i == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    finished_0.store(true, Ordering::SeqCst);
                    parts.send(0);
                    return;
                }
                for _ in 0..10 {
                    parts.send(i);
                    if !finished_0.load(Ordering::SeqCst) {
                        sent_ahead.fetch_add(1, Ordering::SeqCst);
                    }
                }
            },
            |_| Ok(()),
        );
        assert!(result.is_ok());
        assert!(sent_ahead.load(Ordering::SeqCst) <= 5, "{} parts waited", sent_ahead.load(Ordering::SeqCst));
    }

    #[test]
    fn a_panicking_item_fails_the_run_instead_of_hanging_it() {
        let items: Vec<u32> = (0..50).collect();
        let run = std::panic::catch_unwind(|| {
            run_ordered(
                &items,
                64,
                2,
                |&i, parts| {
                    if i == 1 {
                        panic!("a reader bug");
                    }
                    for _ in 0..10 {
                        parts.send(i);
                    }
                },
                |_| Ok::<(), ()>(()),
            )
        });
        assert!(run.is_err());
    }

    #[test]
    fn an_emit_error_stops_the_run() {
        let items: Vec<u32> = (0..1000).collect();
        let mut count = 0;
        let result = run_ordered(
            &items,
            2,
            4,
            |&i, parts| parts.send(i),
            |i| {
                count += 1;
                if i == 10 { Err("sink full") } else { Ok(()) }
            },
        );
        assert_eq!(result, Err("sink full"));
        assert!(count <= 11);
    }
}
