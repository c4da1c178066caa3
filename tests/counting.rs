//! A counting global allocator for the memory tests (each its own test binary, since the
//! allocator is the whole process's), with threads that can be left uncounted: an origin server
//! run in the same process on [`uncounted_runtime`] does not count as the client's memory.
//!
//! A test binary installs it with
//! `#[global_allocator] static ALLOCATOR: Counting = Counting;`, then reads
//! [`reset_peak`] / [`peak_since`] around the work it measures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The allocator: [`System`]'s, with the bytes live and their peak counted.
pub struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

std::thread_local! {
    /// Set on the threads whose allocations are not counted.
    static UNCOUNTED: Cell<bool> = const { Cell::new(false) };
}

fn counted() -> bool {
    !UNCOUNTED.try_with(Cell::get).unwrap_or(false)
}

#[allow(unsafe_code)]
// SAFETY: every call is forwarded to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counted() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if counted() {
            CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Starts a new measurement: the peak is set to what is live now, which is returned.
pub fn reset_peak() -> usize {
    let baseline = CURRENT.load(Ordering::Relaxed);
    PEAK.store(baseline, Ordering::Relaxed);
    baseline
}

/// The peak of live bytes above `baseline` since [`reset_peak`] returned it.
pub fn peak_since(baseline: usize) -> usize {
    PEAK.load(Ordering::Relaxed).saturating_sub(baseline)
}

/// Leaves the calling thread's allocations uncounted from now on.
pub fn leave_thread_uncounted() {
    UNCOUNTED.with(|flag| flag.set(true));
}

/// A two-worker runtime whose threads (blocking pool included) are not counted, built on a thread
/// that is not counted either: for an origin server in the same process as the measured client.
/// Shut it down with `shutdown_background` (it may not be dropped inside another runtime).
pub fn uncounted_runtime() -> tokio::runtime::Runtime {
    std::thread::spawn(|| {
        leave_thread_uncounted();
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .on_thread_start(leave_thread_uncounted)
            .build()
            .expect("a runtime")
    })
    .join()
    .expect("the runtime is built")
}
