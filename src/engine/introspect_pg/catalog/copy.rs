//! Reading the large catalogs with `COPY (SELECT …) TO STDOUT (FORMAT binary)`: the rows
//! arrive as one byte stream and are decoded in place, field by field, into the row types
//! (no per-row `DataRow`/`PgRow`, no per-value type dispatch). A string is allocated only
//! for the text values a row keeps. The binary formats read here are those of `int8`,
//! `int4`, `bool`, `"char"`, `text`, and one-dimensional `text[]` / `int2[]`; every query
//! casts its columns to them, and a value of another length is a protocol error, not a guess.

use futures::TryStreamExt as _;
use sqlx::PgConnection;

use super::Char;

/// A malformed value or row: what was expected. Small, so that the per-value results of
/// the hot decoding loop stay in registers; made an `sqlx::Error` once, at the end.
#[derive(Debug, Clone, Copy)]
pub(in super::super) struct Bad(&'static str);

impl From<Bad> for sqlx::Error {
    fn from(b: Bad) -> Self {
        sqlx::Error::Protocol(format!("COPY binary: {}", b.0))
    }
}

fn bad(what: &'static str) -> Bad {
    Bad(what)
}

/// The fields of one row, in order.
pub(in super::super) struct Fields<'a> {
    buf: &'a [u8],
}

impl<'a> Fields<'a> {
    /// The next field's bytes (None: NULL).
    #[inline]
    fn next(&mut self) -> Result<Option<&'a [u8]>, Bad> {
        let (len, rest) = self
            .buf
            .split_first_chunk::<4>()
            .ok_or_else(|| bad("truncated row"))?;
        let len = i32::from_be_bytes(*len);
        if len < 0 {
            self.buf = rest;
            return Ok(None);
        }
        let len = usize::try_from(len).map_err(|_| bad("length"))?;
        if rest.len() < len {
            return Err(bad("truncated value"));
        }
        let (v, rest) = rest.split_at(len);
        self.buf = rest;
        Ok(Some(v))
    }

    #[inline]
    pub fn get<T: CopyValue>(&mut self) -> Result<T, Bad> {
        T::decode(self.next()?)
    }
}

/// A column value in its binary `COPY` form.
pub(in super::super) trait CopyValue: Sized {
    fn decode(v: Option<&[u8]>) -> Result<Self, Bad>;
}

fn not_null(v: Option<&[u8]>) -> Result<&[u8], Bad> {
    v.ok_or_else(|| bad("unexpected NULL"))
}

impl CopyValue for i64 {
    #[inline]
    fn decode(v: Option<&[u8]>) -> Result<Self, Bad> {
        let b: [u8; 8] = not_null(v)?.try_into().map_err(|_| bad("int8"))?;
        Ok(i64::from_be_bytes(b))
    }
}

impl CopyValue for i32 {
    #[inline]
    fn decode(v: Option<&[u8]>) -> Result<Self, Bad> {
        let b: [u8; 4] = not_null(v)?.try_into().map_err(|_| bad("int4"))?;
        Ok(i32::from_be_bytes(b))
    }
}

impl CopyValue for bool {
    #[inline]
    fn decode(v: Option<&[u8]>) -> Result<Self, Bad> {
        match not_null(v)? {
            [b] => Ok(*b != 0),
            _ => Err(bad("bool")),
        }
    }
}

impl CopyValue for Char {
    #[inline]
    fn decode(v: Option<&[u8]>) -> Result<Self, Bad> {
        match not_null(v)? {
            [b] => Ok(Char(*b)),
            // `"char"`'s send function sends the empty string for '\0'.
            [] => Ok(Char(0)),
            _ => Err(bad("\"char\"")),
        }
    }
}

fn text(b: &[u8]) -> Result<String, Bad> {
    std::str::from_utf8(b)
        .map(str::to_owned)
        .map_err(|_| bad("text is not UTF-8"))
}

impl CopyValue for String {
    #[inline]
    fn decode(v: Option<&[u8]>) -> Result<Self, Bad> {
        text(not_null(v)?)
    }
}

impl<T: CopyValue> CopyValue for Option<T> {
    #[inline]
    fn decode(v: Option<&[u8]>) -> Result<Self, Bad> {
        v.map(|b| T::decode(Some(b))).transpose()
    }
}

/// The elements of a one-dimensional array without NULLs (an empty array has no dimension).
fn array_elements(b: &[u8]) -> Result<Vec<&[u8]>, Bad> {
    let mut f = Fields { buf: b };
    let word = |f: &mut Fields<'_>| -> Result<i32, Bad> {
        let (w, rest) = f
            .buf
            .split_first_chunk::<4>()
            .ok_or_else(|| bad("truncated array"))?;
        f.buf = rest;
        Ok(i32::from_be_bytes(*w))
    };
    let dims = word(&mut f)?;
    let _has_nulls = word(&mut f)?;
    let _element_type = word(&mut f)?;
    match dims {
        0 => Ok(Vec::new()),
        1 => {
            let n = usize::try_from(word(&mut f)?).map_err(|_| bad("array length"))?;
            let _lower = word(&mut f)?;
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                out.push(f.next()?.ok_or_else(|| bad("NULL array element"))?);
            }
            Ok(out)
        }
        _ => Err(bad("multidimensional array")),
    }
}

impl CopyValue for Vec<String> {
    #[inline]
    fn decode(v: Option<&[u8]>) -> Result<Self, Bad> {
        array_elements(not_null(v)?)?
            .into_iter()
            .map(text)
            .collect()
    }
}

impl CopyValue for Vec<i16> {
    #[inline]
    fn decode(v: Option<&[u8]>) -> Result<Self, Bad> {
        array_elements(not_null(v)?)?
            .into_iter()
            .map(|e| {
                let b: [u8; 2] = e.try_into().map_err(|_| bad("int2"))?;
                Ok(i16::from_be_bytes(b))
            })
            .collect()
    }
}

/// A row read from `COPY`, its fields in the query's column order.
pub(in super::super) trait FromCopy: Sized {
    /// The number of columns.
    const COLUMNS: usize;
    fn from_copy(f: &mut Fields<'_>) -> Result<Self, Bad>;
}

macro_rules! tuple_from_copy {
    ($n:expr; $($t:ident),*) => {
        impl<$($t: CopyValue),*> FromCopy for ($($t,)*) {
            const COLUMNS: usize = $n;
            fn from_copy(f: &mut Fields<'_>) -> Result<Self, Bad> {
                Ok(($(f.get::<$t>()?,)*))
            }
        }
    };
}
tuple_from_copy!(2; A, B);
tuple_from_copy!(3; A, B, C);
tuple_from_copy!(4; A, B, C, D);
tuple_from_copy!(5; A, B, C, D, E);

const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// Decodes the complete rows at the start of `buf` into `out`; returns how many bytes they
/// took (the rest is an incomplete row, or the trailer once `done` is set).
fn rows<T: FromCopy>(buf: &[u8], out: &mut Vec<T>, done: &mut bool) -> Result<usize, Bad> {
    let mut at = 0;
    while let Some(&[a, b]) = buf.get(at..at + 2) {
        let count = i16::from_be_bytes([a, b]);
        if count == -1 {
            *done = true;
            return Ok(at + 2);
        }
        if usize::try_from(count).ok() != Some(T::COLUMNS) {
            return Err(bad("unexpected column count"));
        }
        // The row's length, if it is all there.
        let mut end = at + 2;
        let mut complete = true;
        for _ in 0..T::COLUMNS {
            let Some(len) = buf.get(end..end + 4) else {
                complete = false;
                break;
            };
            let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
            end += 4 + usize::try_from(len).unwrap_or(0);
            if end > buf.len() {
                complete = false;
                break;
            }
        }
        if !complete {
            break;
        }
        let mut f = Fields {
            buf: &buf[at + 2..end],
        };
        out.push(T::from_copy(&mut f)?);
        at = end;
    }
    Ok(at)
}

/// The rows decoded so far and the bytes of a row split between messages (the server sends
/// one row per message; this does not rely on it).
struct Decoder<T> {
    out: Vec<T>,
    pending: Vec<u8>,
    header: bool,
    done: bool,
}

impl<T: FromCopy> Decoder<T> {
    fn feed(&mut self, chunk: &[u8]) -> Result<(), Bad> {
        if self.done {
            return if chunk.is_empty() {
                Ok(())
            } else {
                Err(bad("data after the trailer"))
            };
        }
        let joined;
        let mut data: &[u8] = if self.pending.is_empty() {
            chunk
        } else {
            self.pending.extend_from_slice(chunk);
            joined = std::mem::take(&mut self.pending);
            &joined
        };
        if !self.header {
            // Signature, flags, header extension (length and bytes).
            if data.len() < 19 {
                self.pending = data.to_vec();
                return Ok(());
            }
            if &data[..11] != SIGNATURE {
                return Err(bad("signature"));
            }
            let ext = u32::from_be_bytes([data[15], data[16], data[17], data[18]]) as usize;
            if data.len() < 19 + ext {
                self.pending = data.to_vec();
                return Ok(());
            }
            data = &data[19 + ext..];
            self.header = true;
        }
        let used = rows(data, &mut self.out, &mut self.done)?;
        if self.done && used != data.len() {
            return Err(bad("data after the trailer"));
        }
        self.pending = data[used..].to_vec();
        Ok(())
    }
}

/// Runs `query` (a `SELECT` without parameters) as a binary `COPY` and decodes its rows. A
/// malformed row is reported once the copy has ended, so the connection stays usable.
pub(in super::super) async fn copy_rows<T: FromCopy>(
    c: &mut PgConnection,
    query: &str,
) -> Result<Vec<T>, sqlx::Error> {
    let sql = format!("COPY ({query}) TO STDOUT (FORMAT binary)");
    let mut stream = c.copy_out_raw(&sql).await?;
    let mut d = Decoder {
        out: Vec::new(),
        pending: Vec::new(),
        header: false,
        done: false,
    };
    let mut failed = None;
    while let Some(chunk) = stream.try_next().await? {
        if failed.is_none() {
            failed = d.feed(&chunk).err();
        }
    }
    if let Some(e) = failed {
        return Err(e.into());
    }
    if !d.done || !d.pending.is_empty() {
        return Err(bad("truncated").into());
    }
    Ok(d.out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn stream(rows: &[(i64, Option<&str>)]) -> Vec<u8> {
        let mut b = SIGNATURE.to_vec();
        b.extend(0_i32.to_be_bytes());
        b.extend(0_i32.to_be_bytes());
        for (n, t) in rows {
            b.extend(2_i16.to_be_bytes());
            b.extend(8_i32.to_be_bytes());
            b.extend(n.to_be_bytes());
            match t {
                Some(t) => {
                    b.extend(i32::try_from(t.len()).unwrap().to_be_bytes());
                    b.extend(t.as_bytes());
                }
                None => b.extend((-1_i32).to_be_bytes()),
            }
        }
        b.extend((-1_i16).to_be_bytes());
        b
    }

    fn decode(chunks: &[&[u8]]) -> Result<Vec<(i64, Option<String>)>, &'static str> {
        let mut d = Decoder {
            out: Vec::new(),
            pending: Vec::new(),
            header: false,
            done: false,
        };
        for c in chunks {
            d.feed(c).map_err(|e| e.0)?;
        }
        if !d.done || !d.pending.is_empty() {
            return Err("truncated");
        }
        Ok(d.out)
    }

    #[test]
    fn rows_decode_whatever_the_message_boundaries() {
        let rows = [(1, Some("ab")), (-7, None), (1 << 40, Some("é"))];
        let b = stream(&rows);
        let want: Vec<(i64, Option<String>)> = rows
            .iter()
            .map(|(n, t)| (*n, t.map(str::to_owned)))
            .collect();
        assert_eq!(decode(&[&b]).unwrap(), want);
        let bytes: Vec<&[u8]> = b.chunks(1).collect();
        assert_eq!(decode(&bytes).unwrap(), want);
        let (a, z) = b.split_at(23);
        assert_eq!(decode(&[a, &[], z]).unwrap(), want);
    }

    #[test]
    fn malformed_streams_are_errors() {
        let b = stream(&[(1, Some("ab"))]);
        assert_eq!(decode(&[&b[..b.len() - 2]]), Err("truncated"));
        let mut three = b.clone();
        three[19..21].copy_from_slice(&3_i16.to_be_bytes());
        assert_eq!(decode(&[&three]), Err("unexpected column count"));
        let mut short = b.clone();
        short[24] = 4; // the int8's length
        assert!(decode(&[&short]).is_err());
        assert_eq!(decode(&[&b, b"x"]), Err("data after the trailer"));
        assert_eq!(
            decode(&[b"PGCOPY\n\xff\r\n\x01\0\0\0\0\0\0\0\0"]),
            Err("signature")
        );
    }
}
