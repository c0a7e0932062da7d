//! [`Chunks`]: the cells of a metric's new series, handed out [`CHUNK`] to an allocation.
//!
//! Counter and gauge cells are aligned to a cache line, so threads recording different
//! series never share one. Boxed one by one, each cell took the allocator's aligned path
//! (glibc's `posix_memalign`: about 600 instructions a call, measured with callgrind,
//! more than a third of a first touch). A metric's new series take their cells from the
//! metric's current chunk instead: one allocation per [`CHUNK`] series. A chunk is
//! shared (`Arc`) by the series whose cells it holds and freed with the last of them,
//! that is with their store; its cells never move (handles point at them, see
//! `crate::cell_ref`).

use std::ops::Deref;
use std::sync::{Arc, Mutex};

/// Cells per chunk: 4 KiB of 64-byte cells.
pub(crate) const CHUNK: usize = 64;

/// A cell that is made vacant and given its labels once, when its series is created.
pub(crate) trait ChunkedCell: Sized {
    /// A cell with no labels yet, at zero.
    fn vacant() -> Self;
    /// Gives a vacant cell its rendered labels.
    fn occupy(&self, labels: Box<str>);
}

/// The chunk a metric's next series take their cells from.
#[derive(Debug)]
pub(crate) struct Chunks<T> {
    /// The current chunk and the index of its next vacant cell.
    current: Mutex<(Option<Arc<[T; CHUNK]>>, usize)>,
}

impl<T> Default for Chunks<T> {
    fn default() -> Self {
        Chunks {
            current: Mutex::new((None, 0)),
        }
    }
}

impl<T: ChunkedCell> Chunks<T> {
    /// The next vacant cell, given `labels`; a new chunk when the current one is full.
    pub(crate) fn take(&self, labels: Box<str>) -> ChunkCell<T> {
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (chunk, next) = &mut *current;
        let chunk = match chunk {
            Some(chunk) if *next < CHUNK => Arc::clone(chunk),
            _ => {
                let fresh = Arc::new(std::array::from_fn(|_| T::vacant()));
                *chunk = Some(Arc::clone(&fresh));
                *next = 0;
                fresh
            }
        };
        let index = *next;
        *next += 1;
        chunk[index].occupy(labels);
        ChunkCell { chunk, index }
    }
}

/// One cell of a chunk, keeping the chunk alive.
#[derive(Debug)]
pub(crate) struct ChunkCell<T> {
    chunk: Arc<[T; CHUNK]>,
    index: usize,
}

impl<T> Deref for ChunkCell<T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        &self.chunk[self.index]
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::*;

    #[derive(Debug)]
    struct Cell(OnceLock<Box<str>>);

    impl ChunkedCell for Cell {
        fn vacant() -> Self {
            Cell(OnceLock::new())
        }

        fn occupy(&self, labels: Box<str>) {
            self.0.set(labels).expect("a vacant cell");
        }
    }

    #[test]
    fn every_series_gets_a_cell_of_its_own_that_never_moves() {
        let chunks = Chunks::<Cell>::default();
        let cells: Vec<ChunkCell<Cell>> = (0..CHUNK * 2 + 1)
            .map(|i| chunks.take(i.to_string().into()))
            .collect();
        let addresses: std::collections::BTreeSet<*const Cell> =
            cells.iter().map(|cell| &**cell as *const Cell).collect();
        assert_eq!(addresses.len(), cells.len(), "distinct cells");
        for (i, cell) in cells.iter().enumerate() {
            assert_eq!(cell.0.get().map(|l| &**l), Some(&*i.to_string()));
        }
        assert_eq!(Arc::strong_count(&cells[0].chunk), CHUNK, "a full chunk");
        assert_eq!(
            Arc::strong_count(&cells[CHUNK * 2].chunk),
            2,
            "held by the chunks too"
        );
    }
}
