//! A counting global allocator: bytes allocated in all (cumulative) and bytes live, so that a
//! curve can report the memory a structure holds per entry after it was filled.
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

pub struct Counting;

static ALLOCATED: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicI64 = AtomicI64::new(0);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc(layout);
        if !ptr.is_null() {
            added(layout.size());
        }
        ptr
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc_zeroed(layout);
        if !ptr.is_null() {
            added(layout.size());
        }
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = System.realloc(ptr, layout, new_size);
        if !new.is_null() {
            LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
            added(new_size);
        }
        new
    }
}

fn added(size: usize) {
    ALLOCATED.fetch_add(size as u64, Ordering::Relaxed);
    LIVE.fetch_add(size as i64, Ordering::Relaxed);
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    pub allocated: u64,
    pub live: i64,
    pub allocations: u64,
    /// Resident set size (`VmRSS`), bytes: what the pages touched cost, which can be less
    /// than `live` (zeroed allocations whose pages were never written).
    pub rss: i64,
}

fn rss() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
        .map_or(0, |kb| kb * 1024)
}

pub fn snapshot() -> Snapshot {
    Snapshot {
        allocated: ALLOCATED.load(Ordering::Relaxed),
        live: LIVE.load(Ordering::Relaxed),
        allocations: ALLOCATIONS.load(Ordering::Relaxed),
        rss: rss(),
    }
}

impl Snapshot {
    /// Bytes live now that were not at `earlier` (negative if freed).
    pub fn live_since(&self, earlier: &Snapshot) -> i64 {
        self.live - earlier.live
    }
    /// Bytes allocated (requested) between `earlier` and now, freed or not.
    pub fn allocated_since(&self, earlier: &Snapshot) -> u64 {
        self.allocated - earlier.allocated
    }
    pub fn rss_since(&self, earlier: &Snapshot) -> i64 {
        self.rss - earlier.rss
    }
    pub fn allocations_since(&self, earlier: &Snapshot) -> u64 {
        self.allocations - earlier.allocations
    }
}
