//! A global allocator that counts, per thread, how often memory is allocated and how many bytes
//! are held.
//!
//! Install it in a test or binary with
//! `#[global_allocator] static ALLOC: CountingAllocator = CountingAllocator;`; then
//! [`count_allocations`] tells how many allocations a closure made on the calling thread, and
//! [`held_bytes`] how many bytes the thread's allocations hold.
//! Counting per thread keeps tests that run in parallel out of each other's counts; in-process
//! requests on a current-thread runtime run entirely on the calling thread.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    // Const-initialised and without a destructor, so reaching it never allocates.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    // Bytes allocated minus bytes freed on this thread (negative when it frees what another
    // thread allocated).
    static HELD: Cell<i64> = const { Cell::new(0) };
}

/// The system allocator, counting `alloc`, `alloc_zeroed` and `realloc` calls per thread
/// (a `realloc` asks the allocator for memory just as an `alloc` does; frees are not counted),
/// and the bytes held: what was asked for, less what was freed (the allocator's own overhead
/// per block is not included).
#[derive(Clone, Copy, Debug, Default)]
pub struct CountingAllocator;

fn count() {
    // `try_with`: the thread may be tearing down its locals.
    let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
}

fn hold(bytes: usize, sign: i64) {
    let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
    let _ = HELD.try_with(|held| held.set(held.get().saturating_add(sign * bytes)));
}

// SAFETY: every call is forwarded unchanged to the system allocator, which upholds the
// `GlobalAlloc` contract; counting touches only a thread-local `Cell` and never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        hold(layout.size(), 1);
        // SAFETY: the caller's guarantees for `layout` are passed on as they are.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        hold(layout.size(), 1);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        hold(layout.size(), -1);
        // SAFETY: `ptr` came from this allocator, which is the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as for `dealloc` and `alloc`.
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        if !moved.is_null() {
            hold(layout.size(), -1);
            hold(new_size, 1);
        }
        moved
    }
}

/// How many allocations the calling thread has made so far (only counted while
/// [`CountingAllocator`] is the global allocator).
pub fn allocations() -> u64 {
    ALLOCATIONS.try_with(Cell::get).unwrap_or(0)
}

/// How many bytes the calling thread's allocations hold now, less what it freed (only counted
/// while [`CountingAllocator`] is the global allocator).
pub fn held_bytes() -> i64 {
    HELD.try_with(Cell::get).unwrap_or(0)
}

/// Runs `f` and returns its result with the number of allocations it made on this thread.
pub fn count_allocations<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = allocations();
    let result = f();
    (result, allocations() - before)
}
