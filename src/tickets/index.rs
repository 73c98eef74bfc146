//! Upkeep of the search index. Every write adds a small FTS5 segment (and a
//! rewritten ticket leaves a tombstone in an older one); FTS5 merges some of
//! them as it goes, but under steady writes the index splits into segments
//! and tombstones that every search must walk (at a million tickets, after
//! a hundred thousand new ones, searches took four times as long). Merging
//! all of it rewrites the whole index, so it starts only when the pieces
//! are worth it: the segments beside the largest hold a tenth of its pages,
//! or a tenth of the entries are deleted ones. Then a little merge work runs
//! each minute until one segment is left.

use rusqlite::Connection;

use crate::error::Error;

/// Pages of merge work per call: a few tens of milliseconds of the writer.
const PAGES_PER_STEP: i64 = 200;

/// Does one step of merging the search index towards a single segment when
/// a merge is worth it or under way; says whether it changed anything.
pub fn tidy(conn: &Connection) -> Result<bool, Error> {
    let before = structure(conn)?;
    let worth_it = Segments::read(&before).is_none_or(|s| s.worth_merging());
    if !worth_it {
        return Ok(false);
    }
    conn.execute(
        "INSERT INTO ticket_text (ticket_text, rank) VALUES ('merge', ?1)",
        [-PAGES_PER_STEP],
    )?;
    Ok(structure(conn)? != before)
}

/// FTS5's record of the index's segments (row 10 of its data table): it
/// changes exactly when segments are written.
fn structure(conn: &Connection) -> Result<Vec<u8>, Error> {
    Ok(conn
        .prepare_cached("SELECT block FROM ticket_text_data WHERE id = 10")?
        .query_row([], |r| r.get(0))?)
}

/// What the structure record says about the segments.
#[derive(Debug, Default, PartialEq, Eq)]
struct Segments {
    count: u64,
    largest_pages: u64,
    total_pages: u64,
    /// Entries and deleted entries (tombstones), when the record has them.
    entries: u64,
    tombstones: u64,
    /// A level with an incremental merge under way.
    merging: bool,
}

impl Segments {
    /// Decodes the record (FTS5's `fts5StructureDecode` layout: a 4-byte
    /// cookie, the optional version-2 marker, level and segment counts, the
    /// write counter, then per level its merge state and segments). `None`
    /// for a record this code does not understand.
    fn read(record: &[u8]) -> Option<Self> {
        let mut at = 4;
        let v2 = record.get(4..8) == Some(&[0xff, 0x00, 0x00, 0x01][..]);
        if v2 {
            at += 4;
        }
        let mut next = || -> Option<u64> {
            let (value, used) = varint(record.get(at..)?)?;
            at += used;
            Some(value)
        };
        let levels = next()?;
        let _segments = next()?;
        let _writes = next()?;
        let mut out = Self::default();
        for _ in 0..levels {
            out.merging |= next()? > 0;
            for _ in 0..next()? {
                let (_id, first, last) = (next()?, next()?, next()?);
                let pages = last.checked_sub(first)? + 1;
                out.count += 1;
                out.total_pages += pages;
                out.largest_pages = out.largest_pages.max(pages);
                if v2 {
                    let (_origin1, _origin2, _tombstone_pages) = (next()?, next()?, next()?);
                    out.tombstones += next()?;
                    out.entries += next()?;
                }
            }
        }
        Some(out)
    }

    fn worth_merging(&self) -> bool {
        if self.merging {
            return true;
        }
        self.count > 1
            && ((self.total_pages - self.largest_pages) * 10 >= self.largest_pages
                || self.tombstones * 10 >= self.entries.max(1))
    }
}

/// An SQLite varint (big-endian groups of 7 bits, the ninth byte whole):
/// the value and the bytes it took.
fn varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (i, byte) in bytes.iter().take(9).enumerate() {
        if i == 8 {
            return Some(((value << 8) | u64::from(*byte), 9));
        }
        value = (value << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_decode() {
        assert_eq!(varint(&[0x08]), Some((8, 1)));
        assert_eq!(varint(&[0xa2, 0x86, 0x32]), Some((557_874, 3)));
        assert_eq!(varint(&[0x81]), None, "cut short");
    }

    #[test]
    fn structure_records_decide_when_to_merge() {
        // Version 2, two levels: level 0 has one 1-page segment, level 3 one
        // of pages 10 to 109 (100 pages); no tombstones.
        let two = [
            0, 0, 0, 1, 0xff, 0, 0, 1, // cookie, marker
            2, 2, 5, // levels, segments, writes
            0, 1, 7, 1, 1, 0, 0, 0, 0, 3, // level 0: merge 0, 1 segment
            0, 1, 6, 10, 109, 0, 0, 0, 0, 0x81, 0x00, // level 1: 128 entries
        ];
        let segments = Segments::read(&two).unwrap();
        assert_eq!(
            segments,
            Segments {
                count: 2,
                largest_pages: 100,
                total_pages: 101,
                entries: 131,
                tombstones: 0,
                merging: false,
            }
        );
        assert!(
            !segments.worth_merging(),
            "one small piece beside 100 pages"
        );
        let crowded = Segments {
            total_pages: 111,
            ..segments
        };
        assert!(crowded.worth_merging(), "a tenth beside the largest");
        let deleted = Segments {
            tombstones: 14,
            ..Segments::read(&two).unwrap()
        };
        assert!(deleted.worth_merging(), "a tenth of the entries deleted");
        let single = Segments {
            count: 1,
            total_pages: 100,
            ..Segments::read(&two).unwrap()
        };
        assert!(!single.worth_merging());
        assert_eq!(Segments::read(&two[..12]), None);
    }

    /// The record of a million-ticket index after some thousands of tickets
    /// were created on it: nine segments, the largest with every ticket.
    const MILLION: [u8; 143] = [
        0, 0, 0, 1, 255, 0, 0, 1, 8, 9, 162, 134, 50, 0, 4, 21, 1, 1, 140, 191, 51, 140, 192, 50,
        1, 1, 65, 4, 1, 1, 140, 192, 51, 140, 192, 51, 0, 0, 1, 5, 1, 1, 140, 192, 52, 140, 192,
        52, 1, 1, 1, 6, 1, 1, 140, 192, 53, 140, 192, 53, 0, 0, 1, 0, 1, 20, 1, 2, 140, 189, 21,
        140, 191, 50, 1, 1, 129, 16, 0, 0, 0, 1, 8, 1, 13, 140, 161, 21, 140, 189, 20, 1, 1, 142,
        1, 0, 2, 1, 1, 52, 138, 193, 22, 139, 177, 20, 1, 1, 184, 0, 3, 1, 52, 139, 177, 21, 140,
        161, 20, 1, 1, 184, 1, 0, 0, 0, 0, 0, 1, 2, 1, 130, 192, 21, 1, 138, 193, 21, 0, 0, 189,
        132, 64,
    ];

    #[test]
    fn a_real_record_with_small_pieces_is_left_alone() {
        let segments = Segments::read(&MILLION).unwrap();
        assert_eq!(segments.count, 9);
        assert_eq!(segments.largest_pages, 40_981);
        assert_eq!(segments.total_pages, 41_104);
        assert_eq!(segments.tombstones, 6);
        assert!(segments.entries > 1_000_000);
        assert!(!segments.merging);
        assert!(!segments.worth_merging());
    }
}
