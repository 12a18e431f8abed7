//! Payment card numbers (PAN): Luhn check and masking to first 6 + last 4.
//!
//! A candidate is 13..=19 digits, optionally split by single spaces or dashes, that does not
//! start right after a letter or digit (so digits inside hex hashes and words are left alone).
//! Inside a longer run, groups split by spaces are tried on their own too (a card followed by a
//! CVV, `4111 1111 1111 1111 123`), longest first; dash-joined groups are taken whole, so a
//! UUID is never mistaken for a card. Luhn-valid candidates become `411111******1111`.

use serde_json::Number;

/// Whether `digits` (ASCII digits) pass the Luhn check.
pub(crate) fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d.wrapping_sub(b'0'));
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum % 10 == 0
}

fn is_pan(digits: &[u8]) -> bool {
    (13..=19).contains(&digits.len()) && luhn(digits)
}

/// First 6 digits, `*` for the middle, last 4.
fn push_masked(out: &mut String, digits: &[u8]) {
    let n = digits.len();
    for (i, &d) in digits.iter().enumerate() {
        out.push(if i < 6 || i + 4 >= n { char::from(d) } else { '*' });
    }
}

/// The masked form of a JSON number that is a Luhn-valid card number, if it is one.
pub(crate) fn mask_number(n: &Number) -> Option<String> {
    let v = if let Some(u) = n.as_u64() {
        u
    } else if let Some(i) = n.as_i64() {
        i.unsigned_abs()
    } else {
        let f = n.as_f64()?.abs();
        // 1e19 > u64::MAX is false (1.8e19), so the cast below is exact-range.
        if f.fract() != 0.0 || f >= 1e19 {
            return None;
        }
        f as u64
    };
    let digits = v.to_string();
    if !is_pan(digits.as_bytes()) {
        return None;
    }
    let mut out = String::with_capacity(digits.len());
    push_masked(&mut out, digits.as_bytes());
    Some(out)
}

/// One space-separated segment of a digit run: byte range and digit count.
#[derive(Clone, Copy)]
struct Segment {
    start: usize,
    end: usize,
    digits: usize,
}

/// Masks every card number in `s`; `None` when there is none (no allocation).
pub(crate) fn redact_cards(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.iter().filter(|c| c.is_ascii_digit()).count() < 13 {
        return None;
    }
    let mut out: Option<String> = None;
    let mut last = 0;
    let mut segs: Vec<Segment> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
            continue;
        }
        let boundary_ok = i == 0 || !b.get(i - 1).is_some_and(u8::is_ascii_alphanumeric);
        segs.clear();
        let mut seg_start = i;
        let mut digits = 0;
        let mut j = i;
        loop {
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
                digits += 1;
            }
            let sep = b.get(j).copied();
            if matches!(sep, Some(b' ' | b'-')) && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
                if sep == Some(b' ') {
                    segs.push(Segment { start: seg_start, end: j, digits });
                    digits = 0;
                    seg_start = j + 1;
                }
                j += 1;
                continue;
            }
            break;
        }
        segs.push(Segment { start: seg_start, end: j, digits });
        if boundary_ok {
            mask_segments(s, &segs, &mut out, &mut last);
        }
        i = j;
    }
    let mut out = out?;
    out.push_str(s.get(last..).unwrap_or(""));
    Some(out)
}

/// Finds card numbers among consecutive segments (longest first) and writes them masked.
fn mask_segments(s: &str, segs: &[Segment], out: &mut Option<String>, last: &mut usize) {
    let mut a = 0;
    let mut buf = [0u8; 19];
    while a < segs.len() {
        let mut found = None;
        let mut total = 0;
        let mut end = a;
        // Largest window starting at `a` holding at most 19 digits.
        while let Some(seg) = segs.get(end) {
            if total + seg.digits > 19 {
                break;
            }
            total += seg.digits;
            end += 1;
        }
        while end > a {
            let window = segs.get(a..end).unwrap_or(&[]);
            let n: usize = window.iter().map(|g| g.digits).sum();
            if n >= 13 {
                let (Some(first), Some(lastseg)) = (window.first(), window.last()) else { break };
                let bytes = s.as_bytes().get(first.start..lastseg.end).unwrap_or(&[]);
                let mut k = 0;
                for &c in bytes.iter().filter(|c| c.is_ascii_digit()) {
                    if let Some(slot) = buf.get_mut(k) {
                        *slot = c;
                        k += 1;
                    }
                }
                let digits = buf.get(..k).unwrap_or(&[]);
                if is_pan(digits) {
                    found = Some((first.start, lastseg.end, end));
                    let o = out.get_or_insert_with(|| String::with_capacity(s.len()));
                    o.push_str(s.get(*last..first.start).unwrap_or(""));
                    push_masked(o, digits);
                    *last = lastseg.end;
                    break;
                }
            }
            end -= 1;
        }
        a = match found {
            Some((_, _, next)) => next,
            None => a + 1,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn luhn_known_values() {
        assert!(luhn(b"4111111111111111"));
        assert!(luhn(b"5555555555554444"));
        assert!(luhn(b"378282246310005"));
        assert!(!luhn(b"4111111111111112"));
        assert!(!luhn(b"1234567812345678"));
    }

    #[test]
    fn cards_in_several_formats() {
        let r = |s: &str| redact_cards(s);
        assert_eq!(r("4111111111111111").as_deref(), Some("411111******1111"));
        assert_eq!(r("card 4111 1111 1111 1111 ok").as_deref(), Some("card 411111******1111 ok"));
        assert_eq!(r("4111-1111-1111-1111").as_deref(), Some("411111******1111"));
        assert_eq!(r("amex 3782-822463-10005.").as_deref(), Some("amex 378282*****0005."));
        assert_eq!(r("4111 1111 1111 1111 123").as_deref(), Some("411111******1111 123"));
        assert_eq!(
            r("a=4111111111111111&b=5555555555554444").as_deref(),
            Some("a=411111******1111&b=555555******4444")
        );
    }

    #[test]
    fn non_cards_are_kept() {
        for s in [
            "order 1234567812345678",               // fails Luhn
            "0e4f9a6c-1111-4222-8333-944455556666", // UUID
            "01234567-1111-4222-8333-944455556666", // all-digit UUID, 32 digits
            "deadbeef4111111111111111",             // inside a hex string
            "ts 1735725600 1735725601",             // two timestamps
            "phone +1 555 123 4567",
            "411111111111", // 12 digits
        ] {
            assert_eq!(redact_cards(s), None, "{s}");
        }
    }

    #[test]
    fn json_numbers() {
        let n: Number = 4111111111111111u64.into();
        assert_eq!(mask_number(&n).as_deref(), Some("411111******1111"));
        let f = Number::from_f64(4111111111111111.0).unwrap();
        assert_eq!(mask_number(&f).as_deref(), Some("411111******1111"));
        assert_eq!(mask_number(&1234567812345678u64.into()), None);
        assert_eq!(mask_number(&42u64.into()), None);
    }

    proptest! {
        #[test]
        fn luhn_valid_cards_never_survive(
            body in proptest::collection::vec(0u8..10, 12..=18),
            sep in prop_oneof![Just(""), Just(" "), Just("-")],
            prefix in "[ a-z:=]{0,6}",
        ) {
            let mut digits: Vec<u8> = body.iter().map(|d| b'0' + d).collect();
            // Append the Luhn check digit.
            let check = (0..10u8).find(|c| { let mut d = digits.clone(); d.push(b'0' + c); luhn(&d) }).unwrap();
            digits.push(b'0' + check);
            let plain = String::from_utf8(digits.clone()).unwrap();
            let grouped: Vec<String> = plain.as_bytes().chunks(4).map(|c| String::from_utf8(c.to_vec()).unwrap()).collect();
            let text = format!("{prefix} {} end", grouped.join(sep));
            let out = redact_cards(&text).unwrap();
            prop_assert!(!out.contains(&plain), "{}", out);
            prop_assert!(!out.contains(&grouped.join(sep)), "{}", out);
        }
    }
}
