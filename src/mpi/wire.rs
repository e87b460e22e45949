//! The messages ranks exchange: one MPI message each, on one tag of the world
//! communicator, as bytes: a kind, the link (cross-rank channel) it is about, a payload.
//! MPI keeps the messages from one rank to another in order (its non-overtaking rule), so
//! a link's `Data` is never overtaken by the `Retired` sent after it.

/// The MPI tag of every occamy message.
pub(crate) const TAG: i32 = 0x0cca;

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
}
