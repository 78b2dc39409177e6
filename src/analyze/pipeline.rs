//! The parallel pipeline of DESIGN.md: the sequential splitter cuts the map into batches of
//! records, rayon workers process batches, and results come back to the calling thread in
//! file order, so per-key output streams with bounded memory whatever the dump size. With one
//! thread there is no pool: the calling thread splits and works in turn, so `--threads 1`
//! uses one core, as a user limiting it expects.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::mpsc::{Receiver, channel};

use crate::rdb::{self, Entry, Item, Record, Records};

/// Records and payload bytes per batch: large enough that crossing threads costs nothing per
/// record, small enough to keep every core busy and memory bounded.
const BATCH_RECORDS: usize = 4096;
const BATCH_BYTES: usize = 4 << 20;

/// Why a pipeline run stopped early.
#[derive(Debug)]
pub enum PipelineError<E> {
    /// The splitter met malformed input in the entry starting at `entry_offset`; every
    /// entry before it was delivered.
    Rdb {
        error: rdb::Error,
        entry_offset: u64,
    },
    /// The sink failed (a worker's error, or writing output).
    Sink(E),
}

/// Runs `work` on batches of records in a pool of `threads` workers and hands each batch's
/// result to `sink` in file order; non-key items go to `on_item` as the splitter meets them.
/// `work` also gets the stretch of the file its batch was split from: from where the batch
/// before ended to where the splitter stopped after it, non-key entries included, so the
/// stretches follow one another. The bytes after the last stretch (read in a last batch
/// without records, which goes to no one) are the caller's. On a splitter error every batch
/// before the damage is still delivered, then the error is returned.
pub fn run<'a, T, E, W, S, I>(
    mut records: Records<'a>,
    threads: usize,
    work: W,
    mut sink: S,
    mut on_item: I,
) -> Result<(), PipelineError<E>>
where
    T: Send,
    W: Fn(&[Record<'a>], Range<u64>) -> T + Sync,
    S: FnMut(T) -> Result<(), E>,
    I: FnMut(&Item<'a>),
{
    let mut stretch_start = records.offset();
    // Fills `batch` (empty) with the next records; says whether more may follow, and which
    // stretch of the file it read.
    let mut next_batch =
        |batch: &mut Vec<Record<'a>>| -> (Result<bool, PipelineError<E>>, Range<u64>) {
            let mut batch_bytes = 0;
            let more = loop {
                let entry_offset = records.offset();
                match records.next() {
                    Some(Ok(Entry::Key(record))) => {
                        batch_bytes += record.payload.len();
                        batch.push(record);
                        if batch.len() >= BATCH_RECORDS || batch_bytes >= BATCH_BYTES {
                            break Ok(true);
                        }
                    }
                    Some(Ok(Entry::Other(item))) => on_item(&item),
                    Some(Err(error)) => {
                        break Err(PipelineError::Rdb {
                            error,
                            entry_offset,
                        });
                    }
                    None => break Ok(false),
                }
            };
            let stretch = stretch_start..records.offset();
            stretch_start = stretch.end;
            (more, stretch)
        };
    if threads <= 1 {
        let mut batch = Vec::with_capacity(BATCH_RECORDS);
        loop {
            let (more, stretch) = next_batch(&mut batch);
            if !batch.is_empty() {
                sink(work(&batch, stretch)).map_err(PipelineError::Sink)?;
                batch.clear();
            }
            if !more? {
                return Ok(());
            }
        }
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("building a thread pool only fails if threads cannot be spawned");
    let max_in_flight = 4 * threads as u64;
    let (tx, rx) = channel::<(u64, T, Vec<Record<'a>>)>();
    let work = &work;
    pool.in_place_scope(|scope| {
        let mut delivery = InOrder {
            rx,
            ready: BTreeMap::new(),
            next: 0,
            spare: Vec::new(),
        };
        let mut spawned = 0u64;
        let spawn = |idx: u64, batch: Vec<Record<'a>>, stretch: Range<u64>| {
            let tx = tx.clone();
            scope.spawn(move |_| {
                let out = work(&batch, stretch);
                // The receiver is gone only if the sink already failed.
                let _ = tx.send((idx, out, batch));
            });
        };
        let outcome = loop {
            let mut batch = delivery
                .spare
                .pop()
                .unwrap_or_else(|| Vec::with_capacity(BATCH_RECORDS));
            let (more, stretch) = next_batch(&mut batch);
            if !batch.is_empty() {
                spawn(spawned, batch, stretch);
                spawned += 1;
            }
            match more {
                Ok(true) => delivery
                    .deliver(&mut sink, spawned.saturating_sub(max_in_flight))
                    .map_err(PipelineError::Sink)?,
                done => break done.map(|_| ()),
            }
        };
        drop(tx);
        delivery
            .deliver(&mut sink, spawned)
            .map_err(PipelineError::Sink)?;
        outcome
    })
}

/// Reorders batch results that finish out of order, and keeps the batches' vectors for the
/// splitter to fill again: a new vector for every batch cost the splitter growing it, and
/// faulting in its pages, on the pipeline's one sequential thread.
struct InOrder<'a, T> {
    rx: Receiver<(u64, T, Vec<Record<'a>>)>,
    ready: BTreeMap<u64, T>,
    next: u64,
    spare: Vec<Vec<Record<'a>>>,
}

impl<T> InOrder<'_, T> {
    /// Hands every result that is ready to `sink` in order, blocking until at least `upto`
    /// batches have been delivered.
    fn deliver<E>(
        &mut self,
        sink: &mut impl FnMut(T) -> Result<(), E>,
        upto: u64,
    ) -> Result<(), E> {
        loop {
            while let Some(out) = self.ready.remove(&self.next) {
                sink(out)?;
                self.next += 1;
            }
            let received = if self.next < upto {
                self.rx.recv().ok()
            } else {
                self.rx.try_recv().ok()
            };
            match received {
                Some((idx, out, mut batch)) => {
                    self.ready.insert(idx, out);
                    batch.clear();
                    self.spare.push(batch);
                }
                None => return Ok(()),
            }
        }
    }
}
