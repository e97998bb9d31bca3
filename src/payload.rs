//! The borrowed view of a token's payload that the rules and the claim map read.
//!
//! The payload is parsed once: the members named when the verifier was built ([`Fields`])
//! are read into typed values as they go by, every other member is only checked and
//! skipped. Either way, duplicate member names are refused (RFC 7519 §4: ambiguous claims)
//! and nesting is bounded by [`MAX_PAYLOAD_DEPTH`].

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// How deeply a token payload may nest objects and arrays, the payload object itself being
/// level 1. Deeper payloads are refused as malformed during verification: claims are read
/// lazily later with serde_json, whose recursion limit (128) must never be reached, and no
/// real provider nests claims more than a few levels.
pub const MAX_PAYLOAD_DEPTH: usize = 64;

/// Why payload text is not a token payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PayloadError {
    /// Not a JSON object with unique member names.
    Invalid,
    /// Nests deeper than [`MAX_PAYLOAD_DEPTH`].
    TooDeep,
}

/// The top-level members a verifier reads, fixed when it is built.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fields {
    names: Vec<Box<str>>,
    /// Per name: its [`Key`], compared before the name itself.
    keys: Vec<Key>,
    /// Per name: kept as raw JSON, because a dotted claim path reaches into it.
    raw: Vec<bool>,
    /// Per name that is a dotted path: the member it starts in, and the rest of the path.
    nested: Vec<Option<(usize, Box<str>)>>,
}

/// Where a claim path is read from: an index into [`Fields`], resolved when the verifier is
/// built, so that reading a claim never compares names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field(usize);

/// A member name's length and first 8 bytes: equal keys mean equal names up to 8 bytes
/// (most claim names), and let a lookup skip the other names without comparing them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    len: usize,
    prefix: u64,
}

impl Key {
    fn of(name: &str) -> Key {
        let mut prefix = [0u8; 8];
        for (to, from) in prefix.iter_mut().zip(name.bytes()) {
            *to = from;
        }
        Key {
            len: name.len(),
            prefix: u64::from_le_bytes(prefix),
        }
    }
}

impl Fields {
    /// Registers the members that reading `path` needs: the name itself and, for a dotted
    /// path, the top-level member it starts in (kept raw).
    pub(crate) fn add_path(&mut self, path: &str) -> Field {
        let nested = path
            .split_once('.')
            .map(|(first, rest)| (self.add(first, true), rest.into()));
        let index = self.add(path, false);
        if nested.is_some() {
            self.nested[index] = nested;
        }
        Field(index)
    }

    fn add(&mut self, name: &str, raw: bool) -> usize {
        match self.index(name) {
            Some(i) => {
                self.raw[i] |= raw;
                i
            }
            None => {
                self.names.push(name.into());
                self.keys.push(Key::of(name));
                self.raw.push(raw);
                self.nested.push(None);
                self.names.len() - 1
            }
        }
    }

    fn index(&self, name: &str) -> Option<usize> {
        let key = Key::of(name);
        self.keys
            .iter()
            .zip(&self.names)
            .position(|(known, known_name)| {
                *known == key && (key.len <= 8 || **known_name == *name)
            })
    }
}

/// One member read by the payload parse. `Copy`, so that the slots cost nothing to set up
/// or drop; what does not borrow from the payload text lives in [`Side`].
#[derive(Debug, Clone, Copy)]
enum Member<'a> {
    Str(&'a str),
    /// A string with escapes: `Side::unescaped[i]`.
    Unescaped(usize),
    /// A number, as a NumericDate (`None`: not a usable date).
    Number(Option<i64>),
    Bool(bool),
    /// An array: its string items are `Side::lists[i]` (the other items are ignored).
    List(usize),
    /// The member's JSON text, for dotted paths that reach into it.
    Raw(&'a RawValue),
    /// `null` or an object.
    Other,
}

/// What the members hold beyond borrowed text: strings with escapes, decoded, and the string
/// items of arrays. Empty (no allocation) for most payloads.
#[derive(Debug, Default)]
struct Side<'a> {
    unescaped: Vec<String>,
    lists: Vec<Vec<Cow<'a, str>>>,
}

/// How many members are kept without allocating.
const INLINE_FIELDS: usize = 12;

#[allow(clippy::large_enum_variant)] // lives on the stack for one parse: the point of `Inline`
#[derive(Debug)]
enum Slots<'a> {
    Inline([Option<Member<'a>>; INLINE_FIELDS]),
    Heap(Vec<Option<Member<'a>>>),
}

impl<'a> Slots<'a> {
    fn new(len: usize) -> Self {
        if len <= INLINE_FIELDS {
            Slots::Inline([None; INLINE_FIELDS])
        } else {
            Slots::Heap(vec![None; len])
        }
    }

    fn get(&self, i: usize) -> Option<Member<'a>> {
        match self {
            Slots::Inline(slots) => *slots.get(i)?,
            Slots::Heap(slots) => *slots.get(i)?,
        }
    }

    fn slot(&mut self, i: usize) -> Option<&mut Option<Member<'a>>> {
        match self {
            Slots::Inline(slots) => slots.get_mut(i),
            Slots::Heap(slots) => slots.get_mut(i),
        }
    }
}

/// A token payload read without copying: the [`Fields`] members, typed, borrowed from the
/// payload text where they had no escapes.
#[derive(Debug)]
pub(crate) struct Payload<'a, 'f> {
    fields: &'f Fields,
    slots: Slots<'a>,
    side: Side<'a>,
}

/// A claim that is present but of the wrong type.
pub(crate) struct WrongType;

impl<'a, 'f> Payload<'a, 'f> {
    /// Parses payload JSON, which must be an object with unique member names, nesting no
    /// deeper than [`MAX_PAYLOAD_DEPTH`]; reads the `fields` members.
    pub(crate) fn parse(json: &'a str, fields: &'f Fields) -> Result<Self, PayloadError> {
        let too_deep = Cell::new(false);
        let mut slots = Slots::new(fields.names.len());
        let mut side = Side::default();
        let seed = PayloadSeed {
            fields,
            slots: &mut slots,
            side: &mut side,
            too_deep: &too_deep,
        };
        let mut deserializer = serde_json::Deserializer::from_str(json);
        match seed
            .deserialize(&mut deserializer)
            .and_then(|()| deserializer.end())
        {
            Ok(()) => Ok(Payload {
                fields,
                slots,
                side,
            }),
            Err(_) if too_deep.get() => Err(PayloadError::TooDeep),
            Err(_) => Err(PayloadError::Invalid),
        }
    }

    fn member(&self, field: Field) -> Option<Member<'a>> {
        self.slots.get(field.0)
    }

    /// The text of a string member.
    fn text(&self, member: Member<'a>) -> Option<&str> {
        match member {
            Member::Str(text) => Some(text),
            Member::Unescaped(i) => self.side.unescaped.get(i).map(String::as_str),
            _ => None,
        }
    }

    /// The string items of an array member.
    fn items(&self, member: Member<'a>) -> Option<&[Cow<'a, str>]> {
        match member {
            Member::List(i) => self.side.lists.get(i).map(Vec::as_slice),
            _ => None,
        }
    }

    /// True when the payload has the member, whatever its value (even `null`).
    pub(crate) fn has(&self, field: Field) -> bool {
        self.member(field).is_some()
    }

    /// A NumericDate claim: an integer or a float number of seconds (fractions truncated).
    pub(crate) fn date(&self, field: Field) -> Result<Option<i64>, WrongType> {
        match self.member(field) {
            None => Ok(None),
            Some(Member::Number(Some(date))) => Ok(Some(date)),
            Some(Member::Raw(raw)) => match serde_json::from_str(raw.get()) {
                Ok(Value::Number(number)) => number_date(&number).map(Some).ok_or(WrongType),
                _ => Err(WrongType),
            },
            Some(_) => Err(WrongType),
        }
    }

    /// A string claim (a name, or a dotted path into nested objects).
    pub(crate) fn str(&self, field: Field) -> Option<Cow<'_, str>> {
        match self.member(field) {
            Some(Member::Raw(raw)) => serde_json::from_str::<JsonStr<'_>>(raw.get())
                .ok()
                .map(|text| text.0),
            Some(member) => self.text(member).map(Cow::Borrowed),
            None => match self.nested(field)? {
                Value::String(text) => Some(Cow::Owned(text)),
                _ => None,
            },
        }
    }

    /// Whether the claim is a string that `wanted` accepts, or an array holding one.
    pub(crate) fn holds(&self, field: Field, wanted: impl Fn(&str) -> bool) -> bool {
        match self.string_or_list(field) {
            Some(StringOrList::One(text)) => wanted(&text),
            Some(StringOrList::List(items)) => items.iter().any(|item| wanted(item)),
            None => false,
        }
    }

    /// A claim holding one string or an array of strings (`aud`, `permissions`); other items
    /// of an array are ignored.
    #[cfg(test)]
    pub(crate) fn strings(&self, field: Field) -> Vec<Cow<'_, str>> {
        match self.string_or_list(field) {
            Some(StringOrList::One(one)) => vec![one],
            Some(StringOrList::List(list)) => list.into_owned(),
            None => Vec::new(),
        }
    }

    /// A claim holding one string or an array of strings, telling which (a space-delimited
    /// `scope` string is split, an array's items are whole scopes); other items of an array
    /// are ignored. `None` for a missing claim or one of another type.
    pub(crate) fn string_or_list(&self, field: Field) -> Option<StringOrList<'_, 'a>> {
        let value = match self.member(field) {
            Some(Member::Raw(raw)) => serde_json::from_str(raw.get()).ok()?,
            Some(member @ Member::List(_)) => {
                return self
                    .items(member)
                    .map(|items| StringOrList::List(Cow::Borrowed(items)))
            }
            Some(member) => {
                return self
                    .text(member)
                    .map(|text| StringOrList::One(Cow::Borrowed(text)))
            }
            None => self.nested(field)?,
        };
        match value {
            Value::String(text) => Some(StringOrList::One(Cow::Owned(text))),
            Value::Array(items) => Some(StringOrList::List(Cow::Owned(
                items
                    .into_iter()
                    .filter_map(|item| match item {
                        Value::String(text) => Some(Cow::Owned(text)),
                        _ => None,
                    })
                    .collect(),
            ))),
            _ => None,
        }
    }

    /// A boolean claim; `None` when missing or not a JSON boolean.
    pub(crate) fn bool(&self, field: Field) -> Option<bool> {
        match self.member(field) {
            Some(Member::Bool(value)) => Some(value),
            Some(Member::Raw(raw)) => serde_json::from_str(raw.get()).ok(),
            Some(_) => None,
            None => self.nested(field)?.as_bool(),
        }
    }

    /// The value at a dotted path into nested objects (the slow, allocating path).
    fn nested(&self, field: Field) -> Option<Value> {
        let (first, rest) = self.fields.nested.get(field.0)?.as_ref()?;
        let Some(Member::Raw(raw)) = self.slots.get(*first) else {
            return None;
        };
        let value: Value = serde_json::from_str(raw.get()).ok()?;
        let mut value = &value;
        for part in rest.split('.') {
            value = value.as_object()?.get(part)?;
        }
        Some(value.clone())
    }
}

/// A claim read as one string or as an array of strings (`'p`: the payload's borrow, `'a`:
/// the payload text's).
pub(crate) enum StringOrList<'p, 'a> {
    One(Cow<'p, str>),
    List(Cow<'p, [Cow<'a, str>]>),
}

/// Payload (or header) JSON as an owned object, after the same checks as a verified
/// payload: unique member names, bounded nesting. For tools that show every claim.
pub(crate) fn parse_object(json: &str) -> Result<Map<String, Value>, PayloadError> {
    Payload::parse(json, &Fields::default())?;
    serde_json::from_str(json).map_err(|_| PayloadError::Invalid)
}

/// A NumericDate from a JSON number.
pub(crate) fn number_date(number: &serde_json::Number) -> Option<i64> {
    match number.as_i64() {
        Some(int) => Some(int),
        None => float_date(number.as_f64()?),
    }
}

/// A NumericDate from a float: fractions truncated; out-of-range numbers are not dates
/// (refusing them avoids saturating casts).
fn float_date(float: f64) -> Option<i64> {
    (float.is_finite() && float.abs() < 1e15).then_some(float as i64)
}

/// A JSON string, borrowed from the input unless it had escapes.
pub(crate) struct JsonStr<'a>(pub(crate) Cow<'a, str>);

impl<'de> Deserialize<'de> for JsonStr<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = JsonStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Borrowed(text)))
            }
            fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Owned(text.to_owned())))
            }
        }
        deserializer.deserialize_str(StrVisitor)
    }
}

/// The payload object: reads the `fields` members into `slots`, skips the others.
struct PayloadSeed<'f, 's, 'c, 'de> {
    fields: &'f Fields,
    slots: &'s mut Slots<'de>,
    side: &'s mut Side<'de>,
    too_deep: &'c Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for PayloadSeed<'_, '_, '_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PayloadSeed<'_, '_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Names of the members not in `fields` (those are de-duplicated by their slot).
        let mut others = SeenNames::default();
        while let Some(JsonStr(name)) = map.next_key()? {
            let Some(index) = self.fields.index(&name) else {
                if !others.insert(name) {
                    return Err(de::Error::custom("duplicate claim"));
                }
                map.next_value_seed(Skip {
                    depth: 1,
                    too_deep: self.too_deep,
                })?;
                continue;
            };
            let member = map.next_value_seed(Read {
                raw: self.fields.raw[index],
                side: &mut *self.side,
                too_deep: self.too_deep,
            })?;
            match self.slots.slot(index) {
                Some(slot @ None) => *slot = Some(member),
                _ => return Err(de::Error::custom("duplicate claim")),
            }
        }
        Ok(())
    }
}

/// Member names seen so far: a short list without allocating, a hash set past it (so that a
/// payload of thousands of tiny members stays linear).
#[derive(Default)]
struct SeenNames<'a> {
    few: [&'a str; 16],
    len: usize,
    many: Option<HashSet<Cow<'a, str>>>,
}

impl<'a> SeenNames<'a> {
    /// False when `name` was seen before.
    fn insert(&mut self, name: Cow<'a, str>) -> bool {
        let in_many = |many: &Option<HashSet<_>>| many.as_ref().is_some_and(|m| m.contains(&*name));
        if self.few[..self.len].contains(&&*name) || in_many(&self.many) {
            return false;
        }
        match name {
            Cow::Borrowed(name) if self.len < self.few.len() => {
                self.few[self.len] = name;
                self.len += 1;
                true
            }
            name => self.many.get_or_insert_with(HashSet::new).insert(name),
        }
    }
}

/// The next nesting level below `depth`, or an error past [`MAX_PAYLOAD_DEPTH`].
fn deeper<E: de::Error>(depth: usize, too_deep: &Cell<bool>) -> Result<usize, E> {
    if depth >= MAX_PAYLOAD_DEPTH {
        too_deep.set(true);
        return Err(E::custom("payload nests too deeply"));
    }
    Ok(depth + 1)
}

/// Skips one value whose container sits at `depth`, bounding the nesting below it.
#[derive(Clone, Copy)]
struct Skip<'c> {
    depth: usize,
    too_deep: &'c Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Skip<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = Skip {
            depth: deeper(self.depth, self.too_deep)?,
            ..self
        };
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = Skip {
            depth: deeper(self.depth, self.too_deep)?,
            ..self
        };
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(inner)?;
        }
        Ok(())
    }
}

/// Reads one member of the payload object (level 1) into a [`Member`].
struct Read<'s, 'c, 'de> {
    raw: bool,
    side: &'s mut Side<'de>,
    too_deep: &'c Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Read<'_, '_, 'de> {
    type Value = Member<'de>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Member<'de>, D::Error> {
        if !self.raw {
            return deserializer.deserialize_any(self);
        }
        let raw = <&RawValue>::deserialize(deserializer)?;
        // The raw capture only matched brackets: check the text as strictly as a skipped
        // member, so that what is read later through it parses the same.
        let skip = Skip {
            depth: 1,
            too_deep: self.too_deep,
        };
        skip.deserialize(&mut serde_json::Deserializer::from_str(raw.get()))
            .map_err(de::Error::custom)?;
        Ok(Member::Raw(raw))
    }
}

impl<'de> Visitor<'de> for Read<'_, '_, 'de> {
    type Value = Member<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Member<'de>, E> {
        Ok(Member::Bool(value))
    }
    fn visit_i64<E>(self, value: i64) -> Result<Member<'de>, E> {
        Ok(Member::Number(Some(value)))
    }
    fn visit_u64<E>(self, value: u64) -> Result<Member<'de>, E> {
        Ok(Member::Number(match i64::try_from(value) {
            Ok(int) => Some(int),
            Err(_) => float_date(value as f64),
        }))
    }
    fn visit_f64<E>(self, value: f64) -> Result<Member<'de>, E> {
        Ok(Member::Number(float_date(value)))
    }
    fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Member<'de>, E> {
        Ok(Member::Str(text))
    }
    fn visit_str<E>(self, text: &str) -> Result<Member<'de>, E> {
        self.side.unescaped.push(text.to_owned());
        Ok(Member::Unescaped(self.side.unescaped.len() - 1))
    }
    fn visit_unit<E>(self) -> Result<Member<'de>, E> {
        Ok(Member::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Member<'de>, A::Error> {
        let item = Item(Skip {
            depth: deeper(1, self.too_deep)?,
            too_deep: self.too_deep,
        });
        let mut strings = Vec::new();
        while let Some(found) = seq.next_element_seed(item)? {
            strings.extend(found);
        }
        self.side.lists.push(strings);
        Ok(Member::List(self.side.lists.len() - 1))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Member<'de>, A::Error> {
        Skip {
            depth: 1,
            too_deep: self.too_deep,
        }
        .visit_map(map)?;
        Ok(Member::Other)
    }
}

/// An array item: a string, or anything else skipped.
#[derive(Clone, Copy)]
struct Item<'c>(Skip<'c>);

impl<'de> DeserializeSeed<'de> for Item<'_> {
    type Value = Option<Cow<'de, str>>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Item<'_> {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(text)))
    }
    fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(text.to_owned())))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.0.visit_seq(seq).map(|()| None)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(map).map(|()| None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(paths: &[&str]) -> Fields {
        let mut fields = Fields::default();
        for path in paths {
            fields.add_path(path);
        }
        fields
    }

    /// Parses with the fields `deep` (raw, for a dotted path) and `a` read, `b` skipped.
    /// Both ways must agree.
    fn parse(json: &str) -> Result<(), PayloadError> {
        let read = Payload::parse(json, &fields(&["a", "deep.k", "exp"])).map(drop);
        let skipped = Payload::parse(json, &Fields::default()).map(drop);
        assert_eq!(read, skipped, "{json}");
        read
    }

    #[test]
    fn payload_nesting_is_bounded_outside_strings() {
        let nested =
            |levels: usize| format!(r#"{{"a":{}1{}}}"#, "[".repeat(levels), "]".repeat(levels));
        assert!(parse(&nested(MAX_PAYLOAD_DEPTH - 1)).is_ok());
        assert!(matches!(
            parse(&nested(MAX_PAYLOAD_DEPTH)),
            Err(PayloadError::TooDeep)
        ));
        let in_string = format!(r#"{{"a":["{}\"{}"]}}"#, "[".repeat(100), "{".repeat(100));
        assert!(parse(&in_string).is_ok());
    }

    #[test]
    fn claims_at_the_depth_limit_read_back_fully() {
        let json = format!(
            r#"{{"is_anonymous":false,"deep":{}0{}}}"#,
            "{\"k\":".repeat(MAX_PAYLOAD_DEPTH - 1),
            "}".repeat(MAX_PAYLOAD_DEPTH - 1)
        );
        assert!(parse(&json).is_ok());
        let claims = crate::Claims::from_json(json);
        assert_eq!(claims.get("is_anonymous"), Some(&serde_json::json!(false)));
    }

    #[test]
    fn payload_refuses_duplicate_names_even_when_escaped() {
        assert!(parse(r#"{"exp":1,"exp":2}"#).is_err());
        assert!(parse(r#"{"exp":1,"\u0065xp":2}"#).is_err());
        assert!(parse(r#"["exp",1]"#).is_err());
    }

    #[test]
    fn payload_reads_dates_strings_and_nested_claims() {
        let json = r#"{"exp":1700000000.5,"nbf":"soon","iss":"https:\/\/a","aud":["x",3,"y"],"o":{"rol":"admin"}}"#;
        let mut fields = Fields::default();
        let [exp, nbf, iat, iss, aud, rol, missing] =
            ["exp", "nbf", "iat", "iss", "aud", "o.rol", "o.missing"].map(|p| fields.add_path(p));
        let payload = Payload::parse(json, &fields).unwrap();
        assert_eq!(payload.date(exp).ok().flatten(), Some(1_700_000_000));
        assert!(payload.date(nbf).is_err());
        assert_eq!(payload.date(iat).ok().flatten(), None);
        assert_eq!(payload.str(iss).as_deref(), Some("https://a"));
        assert_eq!(payload.strings(aud), ["x", "y"]);
        assert_eq!(payload.str(rol).as_deref(), Some("admin"));
        assert_eq!(payload.str(missing), None);
        assert!(payload.has(aud) && !payload.has(iat));
    }

    #[test]
    fn skipped_members_refuse_duplicates_too_even_past_the_short_list() {
        assert_eq!(parse(r#"{"b":1,"b":2}"#), Err(PayloadError::Invalid));
        assert_eq!(parse(r#"{"b":1,"\u0062":2}"#), Err(PayloadError::Invalid));
        assert_eq!(parse(r#"{"\u0062":1,"b":2}"#), Err(PayloadError::Invalid));
        let many: Vec<String> = (0..100).map(|i| format!(r#""m{i}":{i}"#)).collect();
        let unique = format!("{{{}}}", many.join(","));
        assert_eq!(parse(&unique), Ok(()));
        for dup in ["m3", "m40", "m99"] {
            let json = format!(r#"{{{},"{dup}":0}}"#, many.join(","));
            assert_eq!(parse(&json), Err(PayloadError::Invalid), "{dup}");
        }
    }

    #[test]
    fn a_raw_member_is_bounded_like_the_others() {
        let deep = |levels: usize| {
            format!(
                r#"{{"deep":{}0{}}}"#,
                "{\"k\":".repeat(levels),
                "}".repeat(levels)
            )
        };
        assert_eq!(parse(&deep(MAX_PAYLOAD_DEPTH - 1)), Ok(()));
        assert_eq!(parse(&deep(MAX_PAYLOAD_DEPTH)), Err(PayloadError::TooDeep));
        assert_eq!(parse(&deep(500)), Err(PayloadError::TooDeep));
    }

    #[test]
    fn only_one_json_object_is_a_payload() {
        for bad in ["", "[]", "1", r#""a""#, "{} {}", r#"{"a":1}x"#, r#"{"a":}"#] {
            assert_eq!(parse(bad), Err(PayloadError::Invalid), "{bad}");
        }
        assert_eq!(parse(" {} "), Ok(()));
    }

    #[test]
    fn numbers_read_as_dates_only_when_in_range() {
        let mut fields = Fields::default();
        let exp = fields.add_path("exp");
        let date = |json: &str| {
            let json = format!(r#"{{"exp":{json}}}"#);
            Payload::parse(&json, &fields).unwrap().date(exp).ok()
        };
        assert_eq!(date("1700000000"), Some(Some(1_700_000_000)));
        assert_eq!(date("-5"), Some(Some(-5)));
        assert_eq!(date("1700000000.75"), Some(Some(1_700_000_000)));
        assert_eq!(date("1e3"), Some(Some(1000)));
        assert_eq!(date("1e30"), None);
        assert_eq!(date("18446744073709551615"), None);
        assert_eq!(date("9223372036854775807"), Some(Some(i64::MAX)));
        assert_eq!(date(r#""1700000000""#), None);
        assert_eq!(date("null"), None);
        assert_eq!(date("[1]"), None);
    }

    #[test]
    fn lists_keep_their_string_items_and_bound_the_rest() {
        let mut fields = Fields::default();
        let aud = fields.add_path("aud");
        let json = r#"{"aud":["a",{"x":["b"]},["c"],"d",null,"\u0065"]}"#;
        let payload = Payload::parse(json, &fields).unwrap();
        assert_eq!(payload.strings(aud), ["a", "d", "e"]);
        assert!(payload.holds(aud, |aud| aud == "e"));
        assert!(!payload.holds(aud, |aud| aud == "b"));
        let deep = format!(r#"{{"aud":["a",{}{}]}}"#, "[".repeat(70), "]".repeat(70));
        assert_eq!(
            Payload::parse(&deep, &fields).map(drop),
            Err(PayloadError::TooDeep)
        );
    }

    /// serde_json reads a lone surrogate or an out-of-range number when skipping, but not when
    /// building the claims map later: such a payload would verify with no readable claims.
    #[test]
    fn members_that_the_claims_map_cannot_read_back_are_invalid() {
        for bad in [
            r#"{"x":"\ud800"}"#,
            r#"{"x":["\udc00"]}"#,
            r#"{"x":{"y":"\ud800 "}}"#,
            r#"{"x":1e400}"#,
            r#"{"exp":1e400}"#,
            r#"{"deep":{"k":"\ud800"}}"#,
        ] {
            assert!(
                serde_json::from_str::<Map<String, Value>>(bad).is_err(),
                "{bad}"
            );
            assert_eq!(parse(bad), Err(PayloadError::Invalid), "{bad}");
        }
        assert_eq!(
            parse(r#"{"x":"\ud83d\ude00","deep":{"k":"\u00e9"}}"#),
            Ok(())
        );
    }
}
