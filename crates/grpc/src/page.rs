//! One way to page a list call (AIP-158).
//!
//! Every list RPC reads `page_size` and `page_token` the same way, and every
//! token it hands out is bound to the query it came from: the token carries
//! where the next page starts and a fingerprint of the request's filter
//! fields, so a token replayed with other filters is refused with
//! `INVALID_ARGUMENT` instead of quietly paging through a different list.
//! A token that no call could have issued is refused the same way, never as
//! an internal error.
//!
//! Where a page starts is the call's business ([`Position`]): an offset into
//! a list it computes in full ([`OffsetPage`]), or the id of the last item
//! seen in a store's ordered index ([`CursorPage`], or a type of the call's
//! own that checks the id's form before it reaches the store).
//!
//! Tokens are opaque to clients. They are the hex of `<position>.<fp>`, `fp`
//! being 16 hex digits of the fingerprint; the fingerprint is the same on
//! every replica and every release, so a token outlives a rollout.

use supplyrisk_domain::Violations;

/// The default and largest page size of a list call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSizes {
    /// The size of a page when the request asks for none (`page_size` 0).
    pub default: usize,
    /// The largest page; a larger `page_size` is cut to it.
    pub max: usize,
}

/// Where a page starts, as a page token carries it.
pub trait Position: Sized {
    /// The position as text of a token.
    fn encode(&self) -> String;

    /// The position `text` names; `None` when no token of this call
    /// could carry it.
    fn decode(text: &str) -> Option<Self>;
}

/// An offset into a list the call computes in full and then slices.
impl Position for usize {
    fn encode(&self) -> String {
        self.to_string()
    }

    fn decode(text: &str) -> Option<Self> {
        // Digits only: `str::parse` would also take a leading '+'.
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok()
    }
}

/// A cursor: the id of the last item returned, for lists read in id order
/// from the store. Any non-empty text.
impl Position for String {
    fn encode(&self) -> String {
        self.clone()
    }

    fn decode(text: &str) -> Option<Self> {
        (!text.is_empty()).then(|| text.to_string())
    }
}

/// One page of a list: where it starts, how long it is, and which query it
/// belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<P> {
    start: Option<P>,
    size: usize,
    query: u64,
}

/// A page at an offset into a list computed in full.
pub type OffsetPage = Page<usize>;

/// A page after the id of the last item of the previous page.
pub type CursorPage = Page<String>;

/// FNV-1a over the filter fields, each ended by a zero byte so that moving
/// text from one field to the next is another query.
fn query_fingerprint(filters: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for field in filters {
        for &byte in field.as_bytes().iter().chain(&[0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// What a non-empty page token says.
enum Token<P> {
    Resumes(P),
    OtherQuery,
    Malformed,
}

fn read_token<P: Position>(token: &str, query: u64) -> Token<P> {
    let text = hex::decode(token).ok().and_then(|bytes| String::from_utf8(bytes).ok());
    // The fingerprint has no '.', so the last one ends the position, which may hold dots.
    let Some((position, fingerprint)) = text.as_deref().and_then(|t| t.rsplit_once('.')) else {
        return Token::Malformed;
    };
    let fingerprint = match fingerprint.len() {
        16 => u64::from_str_radix(fingerprint, 16).ok(),
        _ => None,
    };
    match (P::decode(position), fingerprint) {
        (Some(position), Some(fingerprint)) if fingerprint == query => Token::Resumes(position),
        (Some(_), Some(_)) => Token::OtherQuery,
        _ => Token::Malformed,
    }
}

impl<P: Position> Page<P> {
    /// The page a request asks for with `page_size` and `page_token`, its
    /// query being the request's `filters` (every field that changes which
    /// items are listed or their order, as sent). A negative size, or a
    /// token that is malformed or belongs to other filters, is added to `v`
    /// under its field; the page then starts at the beginning.
    pub fn parse(v: &mut Violations, sizes: PageSizes, page_size: i32, page_token: &str, filters: &[&str]) -> Self {
        if page_size < 0 {
            v.push("page_size", "must not be negative");
        }
        let size = match usize::try_from(page_size) {
            Ok(0) | Err(_) => sizes.default,
            Ok(n) => n.min(sizes.max),
        };
        let query = query_fingerprint(filters);
        let start = if page_token.is_empty() {
            None
        } else {
            match read_token(page_token, query) {
                Token::Resumes(position) => Some(position),
                Token::OtherQuery => {
                    v.push("page_token", "belongs to a request with other filters");
                    None
                }
                Token::Malformed => {
                    v.push("page_token", "is not a token returned by this call");
                    None
                }
            }
        };
        Page { start, size, query }
    }

    /// Where the page starts; `None` on the first page.
    pub fn start(&self) -> Option<&P> {
        self.start.as_ref()
    }

    /// How many items the page holds at most.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The token of the page of this query that starts at `next`.
    pub fn token_at(&self, next: &P) -> String {
        hex::encode(format!("{}.{:016x}", next.encode(), self.query))
    }
}

impl OffsetPage {
    /// The offset of the first item of the page.
    pub fn offset(&self) -> usize {
        self.start.unwrap_or(0)
    }

    /// This page of `items`.
    pub fn of<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = self.offset().min(items.len());
        &items[start..start.saturating_add(self.size).min(items.len())]
    }

    /// The token of the next page of a list of `total` items; empty after
    /// the last page.
    pub fn next_token(&self, total: usize) -> String {
        let next = self.offset().saturating_add(self.size);
        if next < total {
            self.token_at(&next)
        } else {
            String::new()
        }
    }
}

impl CursorPage {
    /// The id the page starts after; `None` on the first page.
    pub fn cursor(&self) -> Option<&str> {
        self.start.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZES: PageSizes = PageSizes { default: 50, max: 500 };

    fn fields(v: &Violations) -> Vec<(&str, &str)> {
        v.0.iter().map(|f| (f.field.as_str(), f.description.as_str())).collect()
    }

    #[test]
    fn offset_pages_follow_their_tokens_to_the_end() {
        let items: Vec<u32> = (0..7).collect();
        let query = ["JPN", "REE"];
        let mut v = Violations::new();
        let first = OffsetPage::parse(&mut v, SIZES, 3, "", &query);
        assert_eq!(first.of(&items), &[0, 1, 2]);
        let second = OffsetPage::parse(&mut v, SIZES, 3, &first.next_token(items.len()), &query);
        assert_eq!(second.of(&items), &[3, 4, 5]);
        let third = OffsetPage::parse(&mut v, SIZES, 3, &second.next_token(items.len()), &query);
        assert_eq!(third.of(&items), &[6]);
        assert_eq!(third.next_token(items.len()), "", "no token after the last page");
        assert!(v.is_empty(), "{v}");
    }

    #[test]
    fn an_offset_beyond_the_list_is_an_empty_last_page() {
        let items: Vec<u32> = (0..3).collect();
        let mut v = Violations::new();
        let page = OffsetPage::parse(&mut v, SIZES, 2, "", &[]);
        let beyond = OffsetPage::parse(&mut v, SIZES, 2, &page.token_at(&99), &[]);
        assert!(beyond.of(&items).is_empty());
        assert_eq!(beyond.next_token(items.len()), "");
        assert!(v.is_empty(), "{v}");
    }

    #[test]
    fn cursor_tokens_carry_any_id_back() {
        let mut v = Violations::new();
        let query = ["sub-1", "3"];
        let first = CursorPage::parse(&mut v, SIZES, 2, "", &query);
        assert_eq!(first.cursor(), None);
        for id in ["chn-licensing-2023-08-01-ga_ge", "1700000000000-0", "v1.2.3", "ä"] {
            let token = first.token_at(&id.to_string());
            let next = CursorPage::parse(&mut v, SIZES, 2, &token, &query);
            assert_eq!(next.cursor(), Some(id));
        }
        assert!(v.is_empty(), "{v}");
    }

    #[test]
    fn the_page_size_may_change_between_pages() {
        let mut v = Violations::new();
        let token = OffsetPage::parse(&mut v, SIZES, 2, "", &["JPN"]).next_token(10);
        let next = OffsetPage::parse(&mut v, SIZES, 5, &token, &["JPN"]);
        assert_eq!((next.offset(), next.size()), (2, 5));
        assert!(v.is_empty(), "{v}");
    }

    #[test]
    fn a_token_only_pages_through_the_query_it_came_from() {
        let mut v = Violations::new();
        let offset_token = OffsetPage::parse(&mut v, SIZES, 2, "", &["JPN", "REE"]).next_token(10);
        let page = OffsetPage::parse(&mut v, SIZES, 2, &offset_token, &["USA", "REE"]);
        assert_eq!(page.offset(), 0, "a refused token starts nowhere");
        let cursor_token = CursorPage::parse(&mut v, SIZES, 2, "", &["sub-1"]).token_at(&"42-0".to_string());
        CursorPage::parse(&mut v, SIZES, 2, &cursor_token, &["sub-2"]);
        CursorPage::parse(&mut v, SIZES, 2, &cursor_token, &[]);
        assert_eq!(
            fields(&v),
            [("page_token", "belongs to a request with other filters"); 3]
        );
    }

    #[test]
    fn filter_fields_are_delimited() {
        assert_ne!(query_fingerprint(&["AB", "C"]), query_fingerprint(&["A", "BC"]));
        assert_ne!(query_fingerprint(&[""]), query_fingerprint(&[]));
    }

    #[test]
    fn malformed_tokens_are_not_tokens_of_this_call() {
        let query = ["JPN"];
        let fingerprint = format!("{:016x}", query_fingerprint(&query));
        let malformed = [
            "not a token".to_string(),
            "zz".to_string(),
            hex::encode([0xff, 0xfe]),
            hex::encode("no dot"),
            hex::encode(format!(".{fingerprint}")),
            hex::encode(format!("+3.{fingerprint}")),
            hex::encode(format!("-3.{fingerprint}")),
            hex::encode(format!("3.{}", &fingerprint[1..])),
            hex::encode("3.not hex digits"),
            hex::encode(format!("{}0.{fingerprint}", usize::MAX)),
        ];
        for token in &malformed {
            let mut v = Violations::new();
            let page = OffsetPage::parse(&mut v, SIZES, 0, token, &query);
            assert_eq!(
                fields(&v),
                [("page_token", "is not a token returned by this call")],
                "{token}"
            );
            assert_eq!(page.offset(), 0);
        }
        let mut v = Violations::new();
        CursorPage::parse(&mut v, SIZES, 0, &hex::encode(format!(".{fingerprint}")), &query);
        assert_eq!(fields(&v), [("page_token", "is not a token returned by this call")]);
    }

    #[test]
    fn sizes_default_cap_and_refuse_negatives() {
        let mut v = Violations::new();
        assert_eq!(OffsetPage::parse(&mut v, SIZES, 0, "", &[]).size(), 50);
        assert_eq!(OffsetPage::parse(&mut v, SIZES, 1, "", &[]).size(), 1);
        assert_eq!(OffsetPage::parse(&mut v, SIZES, 500, "", &[]).size(), 500);
        assert_eq!(OffsetPage::parse(&mut v, SIZES, 501, "", &[]).size(), 500);
        assert_eq!(OffsetPage::parse(&mut v, SIZES, i32::MAX, "", &[]).size(), 500);
        assert!(v.is_empty(), "{v}");
        let page = CursorPage::parse(&mut v, SIZES, -1, "", &[]);
        assert_eq!(page.size(), 50, "the size of a refused request is still sane");
        assert_eq!(fields(&v), [("page_size", "must not be negative")]);
    }

    #[test]
    fn size_and_token_are_both_reported() {
        let mut v = Violations::new();
        OffsetPage::parse(&mut v, SIZES, -1, "zz", &["JPN"]);
        let names: Vec<&str> = fields(&v).iter().map(|(field, _)| *field).collect();
        assert_eq!(names, ["page_size", "page_token"]);
    }

    #[test]
    fn offset_tokens_keep_the_earlier_scoring_form() {
        // Tokens handed out before the shared helper still resume.
        let query = ["JPN", "REE", "", "1", ""];
        let earlier = hex::encode(format!("3.{:016x}", query_fingerprint(&query)));
        let mut v = Violations::new();
        let page = OffsetPage::parse(&mut v, SIZES, 3, &earlier, &query);
        assert_eq!(page.offset(), 3);
        assert!(v.is_empty(), "{v}");
        let again = OffsetPage::parse(&mut v, SIZES, 3, "", &query).token_at(&3);
        assert_eq!(again, earlier);
    }
}
