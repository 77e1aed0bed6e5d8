//! Parallel work with ordered, streaming output.
//!
//! Workers take items in order from a shared counter (so the earliest
//! unfinished item is always being worked on) and never run more than
//! `window` items ahead of the item being emitted. Each item's work sends
//! its output as a sequence of parts; the caller's thread emits the parts
//! in item order, and within an item in the order they were sent:
//!
//! * the parts of the item at the head of the order are emitted while it
//!   is worked on, a few at a time (half of `buffered`), so one huge input
//!   streams (its alerts are not held until it ends); it waits while
//!   `buffered` of its own parts wait to be emitted;
//! * parts of later items wait in memory, at most `buffered` of them in
//!   all: a worker whose item is not at the head waits before handing more
//!   over. Memory is bounded by three times `buffered` parts (`buffered`
//!   of later items; of the head's, `buffered` waiting and a batch being
//!   emitted), plus one part in each worker's hands (see [`Parts::send`])
//!   and each item's one final part (see [`Parts::finish`]), whatever the
//!   input and however slow the writing.
//!
//! The bound is on parts, not items, so that many small items can be done
//! ahead while a large one is at the head: with a bound on items, both
//! cores waited behind every large EVTX file of a directory.
//!
//! Workers hand parts over into a table the emitting thread reads under the
//! same lock, and wake it only when it can emit something and there is
//! enough to emit (half the window of ended items, or half the bound of
//! parts), a worker is about to wait, or every item has ended. With a
//! message per part, every part woke it: on a machine whose cores all run
//! workers each wake-up preempted one (15,000 context switches over 2,770
//! small files), and waking a thread on another core cost the waker a
//! system call per item.
//!
//! The output is the same whatever the thread count.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

/// What the workers and the emitting thread share, under one lock.
struct Flow<P> {
    /// The item whose parts are being emitted.
    head: usize,
    /// Bounded parts handed over and not emitted yet.
    in_flight: usize,
    /// Parts handed over and not emitted yet, by item, each with whether
    /// it counts towards the bound.
    waiting: BTreeMap<usize, Vec<(P, bool)>>,
    /// Items whose work has ended, not yet passed by the head.
    done: BTreeSet<usize>,
    /// The emitting thread sleeps until woken (see `Shared::release`).
    emitter_asleep: bool,
    /// Workers sleeping until the head moves or parts are emitted.
    workers_asleep: usize,
    /// Items whose work has ended.
    ended: usize,
}

/// The flow and the means to wait on it.
struct Shared<P> {
    flow: Mutex<Flow<P>>,
    /// Signalled to workers: the head moved, or parts were emitted.
    moved: Condvar,
    /// Signalled to the emitting thread: it has enough to emit, a worker
    /// is about to wait, or every item has ended (see `Shared::release`).
    ready: Condvar,
    stop: AtomicBool,
    /// How many items there are.
    items: usize,
    /// How far ahead of the head an item may start, and how many bounded
    /// parts may wait (see `run_ordered`).
    window: usize,
    buffered: usize,
}

impl<P> Shared<P> {
    fn lock(&self) -> MutexGuard<'_, Flow<P>> {
        self.flow.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Sleeps until `moved` is signalled (or spuriously), first waking the
    /// emitting thread if it can make room.
    fn wait_for_move<'g>(&self, mut flow: MutexGuard<'g, Flow<P>>) -> MutexGuard<'g, Flow<P>> {
        flow.workers_asleep += 1;
        if flow.emitter_asleep && can_emit(&flow) {
            flow.emitter_asleep = false;
            self.ready.notify_one();
        }
        let mut flow = self.moved.wait(flow).unwrap_or_else(|e| e.into_inner());
        flow.workers_asleep -= 1;
        flow
    }

    /// Waits while the bound is reached; `None` once the run is stopping.
    /// An item behind the head waits while `buffered` parts of any item
    /// wait to be emitted; the head item, only while `buffered` of its
    /// own do: the parts of later items cannot be emitted before it ends,
    /// so they must not hold it, and its own always can (a slow writer,
    /// such as a pipe to a pager, would otherwise let one huge input fill
    /// memory).
    fn wait_for_room<'g>(&self, mut flow: MutexGuard<'g, Flow<P>>, item: usize) -> Option<MutexGuard<'g, Flow<P>>> {
        let full = |flow: &Flow<P>| {
            if flow.head == item {
                flow.waiting.get(&item).map_or(0, Vec::len) >= self.buffered
            } else {
                flow.in_flight >= self.buffered
            }
        };
        while full(&flow) && !self.stopped() {
            flow = self.wait_for_move(flow);
        }
        (!self.stopped()).then_some(flow)
    }

    /// Releases the lock, waking the emitting thread if it sleeps, can
    /// emit, and waking it is worth a system call (see the module's doc).
    fn release(&self, mut flow: MutexGuard<'_, Flow<P>>) {
        let worth = flow.workers_asleep > 0
            || flow.ended == self.items
            || flow.done.len() >= self.window / 2
            || flow.in_flight >= self.buffered / 2;
        let wake = flow.emitter_asleep && worth && can_emit(&flow);
        if wake {
            flow.emitter_asleep = false;
        }
        drop(flow);
        if wake {
            self.ready.notify_one();
        }
    }

    /// Stops every worker and the emitting thread: set under the lock they
    /// check it under, so none can miss the wake-up.
    fn halt(&self) {
        let flow = self.lock();
        self.stop.store(true, Ordering::SeqCst);
        drop(flow);
        self.moved.notify_all();
        self.ready.notify_all();
    }
}

/// Whether the emitting thread has something to do: parts of the head
/// item, or its end.
fn can_emit<P>(flow: &Flow<P>) -> bool {
    flow.waiting.contains_key(&flow.head) || flow.done.contains(&flow.head)
}

/// Hands one item's parts over to the emitting thread.
pub struct Parts<'a, P> {
    item: usize,
    shared: &'a Shared<P>,
    /// The last part sent, handed over with the next one or with the
    /// item's end: a small item's parts and end then take one lock and at
    /// most one wake-up.
    held: Option<P>,
    /// The part given to [`Parts::finish`].
    last: Option<P>,
}

impl<P> Parts<'_, P> {
    /// Sends a part. It is handed over when the next one is sent or the
    /// item ends; handing over waits while the bound is reached (see the
    /// module's doc).
    pub fn send(&mut self, part: P) {
        if let Some(previous) = self.held.replace(part) {
            let shared = self.shared;
            if let Some(mut flow) = shared.wait_for_room(shared.lock(), self.item) {
                flow.in_flight += 1;
                flow.waiting.entry(self.item).or_default().push((previous, true));
                shared.release(flow);
            }
        }
    }

    /// Sets the item's last part (a small summary), emitted after every
    /// part sent; it does not count towards the bound, so a finished item
    /// never holds a worker for it.
    pub fn finish(&mut self, part: P) {
        self.last = Some(part);
    }

    /// Hands over what is held and marks the item done.
    fn end(mut self) {
        let shared = self.shared;
        let mut flow = shared.lock();
        if let Some(part) = self.held.take() {
            let Some(mut room) = shared.wait_for_room(flow, self.item) else { return };
            room.in_flight += 1;
            room.waiting.entry(self.item).or_default().push((part, true));
            flow = room;
        }
        if let Some(part) = self.last.take() {
            flow.waiting.entry(self.item).or_default().push((part, false));
        }
        flow.done.insert(self.item);
        flow.ended += 1;
        shared.release(flow);
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
    let shared = Shared {
        flow: Mutex::new(Flow {
            head: 0,
            in_flight: 0,
            waiting: BTreeMap::new(),
            done: BTreeSet::new(),
            emitter_asleep: false,
            workers_asleep: 0,
            ended: 0,
        }),
        moved: Condvar::new(),
        ready: Condvar::new(),
        stop: AtomicBool::new(false),
        items: items.len(),
        window,
        buffered,
    };
    let mut outcome = Ok(());
    std::thread::scope(|threads| {
        let (next_item, shared, work) = (&next_item, &shared, &work);
        threads.spawn(move || {
            rayon::scope(|pool| {
                for _ in 0..rayon::current_num_threads().max(1) {
                    pool.spawn(move |_| {
                        loop {
                            let i = next_item.fetch_add(1, Ordering::SeqCst);
                            if i >= items.len() || shared.stopped() {
                                return;
                            }
                            let mut flow = shared.lock();
                            while i >= flow.head + window && !shared.stopped() {
                                flow = shared.wait_for_move(flow);
                            }
                            drop(flow);
                            let mut parts = Parts { item: i, shared, held: None, last: None };
                            let worked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                work(&items[i], &mut parts);
                            }));
                            if let Err(panic) = worked {
                                // Without this item's end, the others would
                                // wait for it forever: stop them, then let
                                // the panic reach the caller.
                                shared.halt();
                                std::panic::resume_unwind(panic);
                            }
                            parts.end();
                        }
                    });
                }
            });
        });
        outcome = emit_in_order(shared, &mut emit);
    });
    outcome
}

/// The emitting thread's loop: takes the head item's parts as they come,
/// emits them outside the lock, and moves the head past ended items.
fn emit_in_order<P, E>(shared: &Shared<P>, emit: &mut impl FnMut(P) -> Result<(), E>) -> Result<(), E> {
    let mut flow = shared.lock();
    loop {
        if shared.stopped() {
            return Ok(());
        }
        let head = flow.head;
        if let Some(parts) = flow.waiting.remove(&head) {
            drop(flow);
            let mut counted = 0;
            for (part, bounded) in parts {
                counted += usize::from(bounded);
                if let Err(e) = emit(part) {
                    shared.halt();
                    return Err(e);
                }
            }
            flow = shared.lock();
            flow.in_flight -= counted;
            if counted > 0 && flow.workers_asleep > 0 {
                shared.moved.notify_all();
            }
        } else if flow.done.remove(&head) {
            flow.head += 1;
            if flow.workers_asleep > 0 {
                shared.moved.notify_all();
            }
        } else if head >= shared.items {
            return Ok(());
        } else {
            flow.emitter_asleep = true;
            flow = shared.ready.wait(flow).unwrap_or_else(|e| e.into_inner());
            flow.emitter_asleep = false;
        }
    }
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
    fn the_head_item_streams_before_it_ends() {
        // Item 0 waits, after each part it sends, until all but `buffered`
        // of those before it have been emitted: a run that held the head's
        // parts until the item ended would never see them.
        let items = [0u32, 1];
        let emitted = AtomicUsize::new(0);
        let streamed = AtomicBool::new(true);
        let buffered = 8;
        let result: Result<(), ()> = run_ordered(
            &items,
            2,
            buffered,
            |&i, parts| {
                if i == 1 {
                    return parts.send(100);
                }
                for k in 0..40 {
                    parts.send(k);
                    let started = std::time::Instant::now();
                    while emitted.load(Ordering::SeqCst) + buffered < k as usize {
                        if started.elapsed() > std::time::Duration::from_secs(5) {
                            streamed.store(false, Ordering::SeqCst);
                            return;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                }
            },
            |_| {
                emitted.fetch_add(1, Ordering::SeqCst);
                Ok(())
            },
        );
        assert!(result.is_ok());
        assert!(streamed.load(Ordering::SeqCst), "the head's parts waited for its end");
        assert_eq!(emitted.load(Ordering::SeqCst), 41);
    }

    #[test]
    fn the_head_item_waits_for_a_slow_writer() {
        // One huge input and a writer slower than its worker (a pipe to a
        // pager, say): the worker may not run ahead of what was written by
        // more than the bound, or memory grows with the input.
        let items = [0u32];
        let (sent, written, most_ahead) = (AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0));
        let buffered = 4;
        let result: Result<(), ()> = run_ordered(
            &items,
            2,
            buffered,
            |_, parts| {
                for k in 0..200 {
                    parts.send(k);
                    let ahead = sent.fetch_add(1, Ordering::SeqCst) + 1 - written.load(Ordering::SeqCst);
                    most_ahead.fetch_max(ahead, Ordering::SeqCst);
                }
            },
            |_| {
                std::thread::sleep(std::time::Duration::from_micros(200));
                written.fetch_add(1, Ordering::SeqCst);
                Ok(())
            },
        );
        assert!(result.is_ok());
        assert_eq!(written.load(Ordering::SeqCst), 200);
        // Waiting, one batch being written, and the part the worker holds.
        let most = most_ahead.load(Ordering::SeqCst);
        assert!(most <= 2 * buffered + 1, "the head ran {most} parts ahead of the writer");
    }

    #[test]
    fn a_later_item_waits_once_its_buffer_is_full() {
        // Item 0 is slow; item 1 sends 100 parts but may only get 3 ahead,
        // plus the one its worker holds.
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
        assert!(*most_waiting.lock().unwrap() <= 3 + 1, "item 1 ran {} parts ahead", most_waiting.lock().unwrap());
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
        // whichever items they come from (and one more held by each worker
        // not on item 0).
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
        let held = rayon::current_num_threads().max(1) - 1;
        assert!(sent_ahead.load(Ordering::SeqCst) <= 5 + held, "{} parts waited", sent_ahead.load(Ordering::SeqCst));
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
