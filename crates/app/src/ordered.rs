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
//! * a later item's parts wait in memory, at most `buffered` of them: its
//!   worker then waits until the item reaches the head. Memory is bounded
//!   by `window` items of at most `buffered` parts, whatever the input.
//!
//! The output is the same whatever the thread count, and a slow item does
//! not stall the others (up to the window).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, mpsc};

enum Message<P> {
    Part(usize, P),
    Done(usize),
}

struct Flow {
    /// The item whose parts are being emitted.
    head: usize,
    /// Parts sent and not emitted yet, per item.
    queued: HashMap<usize, usize>,
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
    /// already has `buffered` parts waiting.
    pub fn send(&mut self, part: P) {
        let mut flow = self.flow.lock().unwrap_or_else(|e| e.into_inner());
        while flow.head != self.item
            && flow.queued.get(&self.item).copied().unwrap_or(0) >= self.buffered
            && !self.stop.load(Ordering::SeqCst)
        {
            flow = self.moved.wait(flow).unwrap_or_else(|e| e.into_inner());
        }
        if self.stop.load(Ordering::SeqCst) {
            return;
        }
        *flow.queued.entry(self.item).or_default() += 1;
        drop(flow);
        let _ = self.tx.send(Message::Part(self.item, part));
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
    let flow = Mutex::new(Flow { head: 0, queued: HashMap::new() });
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
                            work(&items[i], &mut parts);
                            if tx.send(Message::Done(i)).is_err() {
                                return;
                            }
                        }
                    });
                }
            });
            drop(tx);
        });
        let mut pending: BTreeMap<usize, VecDeque<P>> = BTreeMap::new();
        let mut done = std::collections::BTreeSet::new();
        let mut head = 0;
        let mut emit_one = |item: usize, part: P, outcome: &mut Result<(), E>| {
            if outcome.is_ok() {
                *outcome = emit(part);
            }
            if outcome.is_err() {
                stop.store(true, Ordering::SeqCst);
            }
            let mut state = flow.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(n) = state.queued.get_mut(&item) {
                *n -= 1;
            }
            drop(state);
            moved.notify_all();
        };
        for message in rx {
            match message {
                Message::Part(i, part) if i == head => emit_one(i, part, &mut outcome),
                Message::Part(i, part) => pending.entry(i).or_default().push_back(part),
                Message::Done(i) => {
                    done.insert(i);
                }
            }
            // Advance past finished items, emitting what the next one sent.
            while done.remove(&head) {
                head += 1;
                {
                    let mut state = flow.lock().unwrap_or_else(|e| e.into_inner());
                    state.queued.remove(&(head - 1));
                    state.head = head;
                }
                moved.notify_all();
                for part in pending.remove(&head).unwrap_or_default() {
                    emit_one(head, part, &mut outcome);
                }
            }
        }
    });
    outcome
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
