//! The messages ranks exchange: one MPI message each, on one tag of the world
//! communicator, as bytes: a kind, the link (cross-rank channel) it is about, a payload.
//! MPI keeps the messages from one rank to another in order (its non-overtaking rule), so
//! a link's `Data` is never overtaken by the `Retired` sent after it.

/// The MPI tag of every occamy message.
pub(crate) const TAG: i32 = 0x0cca;

/// The longest MPI message occamy sends, and the size of the receive the engine keeps
/// posted for the next message: a longer message goes as pieces (`split`), which MPI
/// keeps in order and `Joiner` puts together again.
pub(crate) const MAX_MESSAGE: usize = 64 * 1024;

/// What a message says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    /// Writer rank to reader rank: a value (postcard bytes).
    Data = 1,
    /// Reader rank to writer rank: a reader took one value (one credit back).
    Ack = 2,
    /// Either way: the channel is poisoned.
    Poison = 3,
    /// Writer rank to reader rank: this rank has no writers left; reader rank to writer
    /// ranks: no readers left.
    Retired = 4,
    /// A control message of the engine's own (the payload says which).
    Control = 5,
    /// Reader rank to writer rank, on a link read on several ranks: a reader here waits;
    /// send one value.
    Demand = 6,
    /// Reader rank to writer rank: the value sent on demand found no reader any more
    /// (it left: an alt chose another guard, a timeout); it was not taken.
    Bounce = 7,
    /// Writer rank to reader rank: the value of a *soft* writer (an alt's output guard, a
    /// send with a deadline), sent against a `Demand`: taken only if a reader waits for it
    /// on arrival, else sent back with `Bounce` (the writer tries again).
    Offer = 8,
    /// Writer rank to reader rank: soft writers wait here and no demand is in hand; send
    /// a `Demand` when a reader waits.
    Want = 9,
    /// Writer rank to reader rank: a `try_send`'s value, answering a `Demand`. The send
    /// has returned, so it cannot come back: offered like `Data`.
    Tried = 10,
    /// A barrier's party rank to every other: every party of this rank has arrived at
    /// its next phase (the link id is the barrier's). A barrier's `Retired`: this rank
    /// has no parties left; its `Poison`: the barrier is poisoned. (12 was a
    /// coordinator's `Release`, before every rank counted the others' arrivals itself.)
    Arrive = 11,
    /// Several messages for one rank, queued by one engine step, sent as one MPI message
    /// (`encode_batch`): a reader's `Ack` and the reply its process sends next cross
    /// together, one MPI message a hop instead of two.
    Batch = 16,
    /// A piece of a message longer than `MAX_MESSAGE`, more to follow (`split`).
    Piece = 17,
    /// The last piece of a message longer than `MAX_MESSAGE`.
    LastPiece = 18,
}

impl Kind {
    fn from_u8(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::Data,
            2 => Kind::Ack,
            3 => Kind::Poison,
            4 => Kind::Retired,
            5 => Kind::Control,
            6 => Kind::Demand,
            7 => Kind::Bounce,
            8 => Kind::Offer,
            9 => Kind::Want,
            10 => Kind::Tried,
            11 => Kind::Arrive,
            16 => Kind::Batch,
            17 => Kind::Piece,
            18 => Kind::LastPiece,
            _ => return None,
        })
    }
}

/// Encodes a message.
pub(crate) fn encode(kind: Kind, link: u32, payload: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(5 + payload.len());
    m.push(kind as u8);
    m.extend_from_slice(&link.to_le_bytes());
    m.extend_from_slice(payload);
    m
}

/// Decodes a message: `None` if it is not one of ours.
pub(crate) fn decode(m: &[u8]) -> Option<(Kind, u32, &[u8])> {
    let kind = Kind::from_u8(*m.first()?)?;
    let link = u32::from_le_bytes(m.get(1..5)?.try_into().ok()?);
    Some((kind, link, &m[5..]))
}

/// The start of a `Batch`: several messages for one rank as one MPI message, each as its
/// length (u32, little endian) and bytes, in order (the order MPI would have kept between
/// them). Messages are appended with `begin_one` .. `end_one`.
pub(crate) fn batch_begin() -> Vec<u8> {
    let mut m = Vec::with_capacity(64);
    batch_start(&mut m);
    m
}

/// Starts a `Batch` in an empty buffer (one kept from a batch sent before).
pub(crate) fn batch_start(m: &mut Vec<u8>) {
    m.push(Kind::Batch as u8);
    m.extend_from_slice(&0u32.to_le_bytes());
}

/// Appends a message's head (its length to come, its kind and link) to a batch; its
/// payload follows, then `end_one` with what this returned.
pub(crate) fn begin_one(batch: &mut Vec<u8>, kind: Kind, link: u32) -> usize {
    let at = batch.len();
    batch.extend_from_slice(&[0; 4]);
    batch.push(kind as u8);
    batch.extend_from_slice(&link.to_le_bytes());
    at
}

/// Writes the length of the message begun at `at`, now that its payload is in.
pub(crate) fn end_one(batch: &mut [u8], at: usize) {
    let len = (batch.len() - at - 4) as u32;
    batch[at..at + 4].copy_from_slice(&len.to_le_bytes());
}

/// Encodes messages for one rank as one `Batch` (see `batch_begin`).
#[cfg(test)]
pub(crate) fn encode_batch<'a>(messages: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut m = batch_begin();
    for one in messages {
        m.extend_from_slice(&(one.len() as u32).to_le_bytes());
        m.extend_from_slice(one);
    }
    m
}

/// The messages of a `Batch`'s payload, in order; stops at a truncated one.
pub(crate) fn batch(payload: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = payload;
    std::iter::from_fn(move || {
        let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let one = rest.get(4..4 + len)?;
        rest = &rest[4 + len..];
        Some(one)
    })
}

/// Cuts a message into pieces of at most `max` bytes each, head included, to be sent one
/// after the other to one rank, which joins them (`Joiner`) in the order MPI keeps.
pub(crate) fn split(m: &[u8], max: usize) -> impl Iterator<Item = Vec<u8>> + '_ {
    let room = max - 5;
    let n = m.len().div_ceil(room);
    m.chunks(room).enumerate().map(move |(i, c)| {
        let kind = if i + 1 == n {
            Kind::LastPiece
        } else {
            Kind::Piece
        };
        encode(kind, 0, c)
    })
}

/// What one MPI message that arrived amounts to.
pub(crate) enum Arrived<'a> {
    /// A whole message.
    Whole(&'a [u8]),
    /// The last piece of a long message: the whole of it.
    Joined(Vec<u8>),
    /// A piece, more to come.
    Partial,
}

/// Joins the pieces of long messages, each sender's apart (no other message of a
/// sender comes between its pieces: they are posted one after the other, and MPI keeps
/// one rank's messages to another in order).
#[derive(Default)]
pub(crate) struct Joiner(Vec<(u32, Vec<u8>)>);

impl Joiner {
    pub(crate) fn arrive<'a>(&mut self, from: u32, m: &'a [u8]) -> Arrived<'a> {
        let (last, piece) = match decode(m) {
            Some((Kind::Piece, _, p)) => (false, p),
            Some((Kind::LastPiece, _, p)) => (true, p),
            _ => return Arrived::Whole(m),
        };
        let i = match self.0.iter().position(|(r, _)| *r == from) {
            Some(i) => i,
            None => {
                self.0.push((from, Vec::new()));
                self.0.len() - 1
            }
        };
        self.0[i].1.extend_from_slice(piece);
        if last {
            Arrived::Joined(self.0.swap_remove(i).1)
        } else {
            Arrived::Partial
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let m = encode(Kind::Data, 0xdead_beef, b"xyz");
        assert_eq!(decode(&m), Some((Kind::Data, 0xdead_beef, &b"xyz"[..])));
        assert_eq!(decode(&[0xee, 0, 0, 0, 0]), None);
        assert_eq!(decode(&[1, 0]), None);
    }

    #[test]
    fn batches_round_trip_in_order() {
        let a = encode(Kind::Ack, 1, b"");
        let d = encode(Kind::Data, 2, b"value");
        let m = encode_batch([&a[..], &d[..]].into_iter());
        let (kind, _, payload) = decode(&m).unwrap();
        assert_eq!(kind, Kind::Batch);
        let got: Vec<&[u8]> = batch(payload).collect();
        assert_eq!(got, [&a[..], &d[..]]);
        // Written in place, the same bytes.
        let mut b = batch_begin();
        let at = begin_one(&mut b, Kind::Ack, 1);
        end_one(&mut b, at);
        let at = begin_one(&mut b, Kind::Data, 2);
        b.extend_from_slice(b"value");
        end_one(&mut b, at);
        assert_eq!(b, m);
        // A truncated batch yields what is whole.
        assert_eq!(batch(&payload[..payload.len() - 1]).count(), 1);
    }

    #[test]
    fn long_messages_go_in_pieces_and_are_joined_per_sender() {
        let long: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        let short = encode(Kind::Ack, 3, b"");
        let pieces: Vec<Vec<u8>> = split(&long, 64).collect();
        assert_eq!(pieces.len(), 1000usize.div_ceil(59));
        assert!(pieces.iter().all(|p| p.len() <= 64));
        let mut j = Joiner::default();
        let mut whole = None;
        for (i, p) in pieces.iter().enumerate() {
            // Another rank's messages and pieces come between; a rank's own do not.
            assert!(matches!(j.arrive(2, &short), Arrived::Whole(m) if m == &short[..]));
            assert!(matches!(j.arrive(5, &pieces[0]), Arrived::Partial));
            match j.arrive(1, p) {
                Arrived::Partial => assert!(i + 1 < pieces.len(), "the last piece ends it"),
                Arrived::Joined(w) => whole = Some(w),
                Arrived::Whole(_) => panic!("a piece taken for a whole message"),
            }
        }
        assert_eq!(whole.as_deref(), Some(&long[..]), "joined in order, whole");
        // Exactly one piece: the message itself comes back.
        let one: Vec<Vec<u8>> = split(&short, 64).collect();
        assert_eq!(one.len(), 1);
        assert!(matches!(j.arrive(1, &one[0]), Arrived::Joined(w) if w == short));
    }
}
