//! A small XSD 1.0 validator, sufficient for ISO 20022 schemas such as
//! `pain.001.001.03.xsd`.
//!
//! Supported schema constructs: `xs:schema` (`targetNamespace`,
//! `elementFormDefault`, `attributeFormDefault`), top-level `xs:element`,
//! named `xs:complexType` (with `xs:sequence` / `xs:choice`, arbitrarily
//! nested, with `minOccurs` / `maxOccurs`, local `xs:element name= type=`,
//! `xs:attribute`, and `xs:simpleContent/xs:extension`), named
//! `xs:simpleType` with `xs:restriction` and the facets `enumeration`,
//! `pattern`, `length`, `minLength`, `maxLength`, `totalDigits`,
//! `fractionDigits`, `minInclusive`, `maxInclusive`, `minExclusive`,
//! `maxExclusive` and `whiteSpace`. Built-in types: `xs:string`,
//! `xs:decimal`, `xs:boolean`, `xs:date`, `xs:dateTime`.
//!
//! Anything else in the schema (imports, `xs:all`, `xs:any`, anonymous
//! types, `ref=`, groups, lists, unions, other built-ins, ...) is rejected as
//! an error instead of being silently ignored.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

use regex::Regex;
use roxmltree::Node;

const XS_NS: &str = "http://www.w3.org/2001/XMLSchema";
const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Validates `xml` against the XSD in `xsd`. Returns every problem found (path + message).
pub fn validate(xsd: &str, xml: &str) -> Result<(), Vec<String>> {
    let schema = Schema::parse(xsd).map_err(|errs| {
        errs.into_iter()
            .map(|e| format!("schema: {e}"))
            .collect::<Vec<_>>()
    })?;
    let doc = roxmltree::Document::parse(xml).map_err(|e| vec![format!("XML parse error: {e}")])?;
    let mut v = Validator {
        schema: &schema,
        errors: Vec::new(),
    };
    v.validate_root(doc.root_element());
    if v.errors.is_empty() {
        Ok(())
    } else {
        Err(v.errors)
    }
}

// ---------------------------------------------------------------------------
// Schema model
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Builtin {
    String,
    Decimal,
    Boolean,
    Date,
    DateTime,
}

impl Builtin {
    fn from_local(name: &str) -> Option<Builtin> {
        Some(match name {
            "string" => Builtin::String,
            "decimal" => Builtin::Decimal,
            "boolean" => Builtin::Boolean,
            "date" => Builtin::Date,
            "dateTime" => Builtin::DateTime,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Builtin::String => "xs:string",
            Builtin::Decimal => "xs:decimal",
            Builtin::Boolean => "xs:boolean",
            Builtin::Date => "xs:date",
            Builtin::DateTime => "xs:dateTime",
        }
    }

    fn default_whitespace(self) -> WhiteSpace {
        match self {
            Builtin::String => WhiteSpace::Preserve,
            _ => WhiteSpace::Collapse,
        }
    }

    /// Checks the lexical form of an (already whitespace-normalised) value.
    fn check(self, v: &str) -> Result<(), String> {
        let ok = match self {
            Builtin::String => true,
            Builtin::Decimal => parse_decimal(v).is_some(),
            Builtin::Boolean => matches!(v, "true" | "false" | "1" | "0"),
            Builtin::Date => check_date(v),
            Builtin::DateTime => check_date_time(v),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("{v:?} is not a valid {}", self.name()))
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum TypeRef {
    Builtin(Builtin),
    /// A named type in the target namespace (simple or complex).
    Named(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WhiteSpace {
    Preserve,
    Replace,
    Collapse,
}

#[derive(Debug)]
struct ElementDecl {
    name: String,
    ns: Option<String>,
    ty: TypeRef,
}

#[derive(Debug)]
enum Term {
    Element(ElementDecl),
    Sequence(Vec<Particle>),
    Choice(Vec<Particle>),
}

#[derive(Debug)]
struct Particle {
    min: u64,
    /// `None` means unbounded.
    max: Option<u64>,
    term: Term,
}

#[derive(Debug)]
struct AttrDecl {
    name: String,
    ns: Option<String>,
    ty: TypeRef,
    required: bool,
}

#[derive(Debug)]
enum Content {
    /// Element-only content; `None` means empty content.
    Elements(Option<Particle>),
    /// Simple content whose value has the given simple type.
    Simple(TypeRef),
}

#[derive(Debug)]
struct ComplexType {
    content: Content,
    attrs: Vec<AttrDecl>,
}

#[derive(Debug, Default)]
struct Facets {
    enumeration: Vec<String>,
    /// Patterns of one derivation step are OR-ed (XSD 1.0 §4.3.4).
    patterns: Vec<(String, Regex)>,
    length: Option<usize>,
    min_length: Option<usize>,
    max_length: Option<usize>,
    total_digits: Option<usize>,
    fraction_digits: Option<usize>,
    min_inclusive: Option<String>,
    max_inclusive: Option<String>,
    min_exclusive: Option<String>,
    max_exclusive: Option<String>,
    white_space: Option<WhiteSpace>,
}

#[derive(Debug)]
struct SimpleType {
    base: TypeRef,
    facets: Facets,
}

#[derive(Debug)]
struct Schema {
    tns: Option<String>,
    elements: HashMap<String, TypeRef>,
    complex: HashMap<String, ComplexType>,
    simple: HashMap<String, SimpleType>,
}

enum Resolved<'s> {
    Simple(&'s TypeRef),
    Complex(&'s ComplexType),
}

// ---------------------------------------------------------------------------
// Schema parsing
// ---------------------------------------------------------------------------

struct SchemaParser {
    tns: Option<String>,
    element_qualified: bool,
    attribute_qualified: bool,
    errors: Vec<String>,
}

fn xs_children<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(|n| n.is_element()).filter(|n| {
        !(n.tag_name().namespace() == Some(XS_NS) && n.tag_name().name() == "annotation")
    })
}

fn describe(node: Node) -> String {
    let name = node
        .attribute("name")
        .map(|n| format!(" name={n:?}"))
        .unwrap_or_default();
    format!("<xs:{}{name}>", node.tag_name().name())
}

impl Schema {
    fn parse(xsd: &str) -> Result<Schema, Vec<String>> {
        let doc =
            roxmltree::Document::parse(xsd).map_err(|e| vec![format!("XML parse error: {e}")])?;
        let root = doc.root_element();
        if root.tag_name().namespace() != Some(XS_NS) || root.tag_name().name() != "schema" {
            return Err(vec!["root element is not xs:schema".to_string()]);
        }
        let mut p = SchemaParser {
            tns: root.attribute("targetNamespace").map(str::to_string),
            element_qualified: root.attribute("elementFormDefault") == Some("qualified"),
            attribute_qualified: root.attribute("attributeFormDefault") == Some("qualified"),
            errors: Vec::new(),
        };
        let mut schema = Schema {
            tns: p.tns.clone(),
            elements: HashMap::new(),
            complex: HashMap::new(),
            simple: HashMap::new(),
        };
        for child in xs_children(root) {
            if child.tag_name().namespace() != Some(XS_NS) {
                p.errors.push(format!(
                    "unexpected element {:?} in xs:schema",
                    child.tag_name().name()
                ));
                continue;
            }
            let Some(name) = child.attribute("name") else {
                p.errors.push(format!("{} without a name", describe(child)));
                continue;
            };
            let name = name.to_string();
            match child.tag_name().name() {
                "element" => {
                    if let Some(ty) = p.element_type(child)
                        && schema.elements.insert(name.clone(), ty).is_some()
                    {
                        p.errors
                            .push(format!("duplicate element declaration {name:?}"));
                    }
                }
                "complexType" | "simpleType" => {
                    if schema.complex.contains_key(&name) || schema.simple.contains_key(&name) {
                        p.errors.push(format!("duplicate type definition {name:?}"));
                        continue;
                    }
                    if child.tag_name().name() == "complexType" {
                        if let Some(ct) = p.complex_type(child) {
                            schema.complex.insert(name, ct);
                        }
                    } else if let Some(st) = p.simple_type(child) {
                        schema.simple.insert(name, st);
                    }
                }
                other => p
                    .errors
                    .push(format!("unsupported top-level construct xs:{other}")),
            }
        }
        if p.errors.is_empty() {
            schema.check_references(&mut p.errors);
        }
        if p.errors.is_empty() {
            Ok(schema)
        } else {
            Err(p.errors)
        }
    }

    /// Verifies that every type reference resolves and that simple types
    /// derive (acyclically) from a supported built-in.
    fn check_references(&self, errors: &mut Vec<String>) {
        let check = |ty: &TypeRef, ctx: &str, want_simple: bool, errors: &mut Vec<String>| {
            if let TypeRef::Named(n) = ty {
                let is_simple = self.simple.contains_key(n);
                if !is_simple && !self.complex.contains_key(n) {
                    errors.push(format!("{ctx}: undefined type {n:?}"));
                } else if want_simple && !is_simple {
                    errors.push(format!("{ctx}: type {n:?} must be a simple type"));
                }
            }
        };
        for (name, ty) in &self.elements {
            check(ty, &format!("element {name:?}"), false, errors);
        }
        for (name, ct) in &self.complex {
            let ctx = format!("complexType {name:?}");
            for a in &ct.attrs {
                check(&a.ty, &ctx, true, errors);
            }
            match &ct.content {
                Content::Simple(ty) => check(ty, &ctx, true, errors),
                Content::Elements(Some(p)) => {
                    let mut stack = vec![p];
                    while let Some(p) = stack.pop() {
                        match &p.term {
                            Term::Element(d) => check(&d.ty, &ctx, false, errors),
                            Term::Sequence(ps) | Term::Choice(ps) => stack.extend(ps),
                        }
                    }
                }
                Content::Elements(None) => {}
            }
        }
        for (name, st) in &self.simple {
            let ctx = format!("simpleType {name:?}");
            check(&st.base, &ctx, true, errors);
            let mut seen = vec![name.as_str()];
            let mut cur = &st.base;
            while let TypeRef::Named(n) = cur {
                if seen.contains(&n.as_str()) {
                    errors.push(format!("{ctx}: circular derivation"));
                    break;
                }
                seen.push(n);
                match self.simple.get(n) {
                    Some(s) => cur = &s.base,
                    None => break,
                }
            }
        }
    }

    fn resolve<'s>(&'s self, ty: &'s TypeRef) -> Resolved<'s> {
        match ty {
            TypeRef::Named(n) => match self.complex.get(n) {
                Some(ct) => Resolved::Complex(ct),
                None => Resolved::Simple(ty),
            },
            TypeRef::Builtin(_) => Resolved::Simple(ty),
        }
    }

    /// Validates a simple value; on failure returns a message naming the
    /// type and facet that failed.
    fn check_simple(&self, ty: &TypeRef, raw: &str) -> Result<(), String> {
        // Collect the derivation chain, most derived first.
        let mut chain: Vec<(&str, &SimpleType)> = Vec::new();
        let mut cur = ty;
        let builtin = loop {
            match cur {
                TypeRef::Builtin(b) => break *b,
                TypeRef::Named(n) => {
                    let st = &self.simple[n];
                    chain.push((n, st));
                    cur = &st.base;
                }
            }
        };
        let ws = chain
            .iter()
            .find_map(|(_, st)| st.facets.white_space)
            .unwrap_or(builtin.default_whitespace());
        let value = normalize_whitespace(raw, ws);
        builtin.check(&value)?;
        for (name, st) in chain.iter().rev() {
            check_facets(&st.facets, builtin, &value).map_err(|e| format!("{e} (type {name})"))?;
        }
        Ok(())
    }
}

impl SchemaParser {
    fn resolve_qname(&mut self, node: Node, qname: &str) -> Option<TypeRef> {
        let (prefix, local) = match qname.split_once(':') {
            Some((p, l)) => (Some(p), l),
            None => (None, qname),
        };
        let ns = node.lookup_namespace_uri(prefix);
        if ns == Some(XS_NS) {
            let b = Builtin::from_local(local);
            if b.is_none() {
                self.errors.push(format!(
                    "{}: unsupported built-in type {qname:?}",
                    describe(node)
                ));
            }
            return b.map(TypeRef::Builtin);
        }
        if ns == self.tns.as_deref() {
            return Some(TypeRef::Named(local.to_string()));
        }
        self.errors.push(format!(
            "{}: type {qname:?} is outside the target namespace (imports are unsupported)",
            describe(node)
        ));
        None
    }

    fn reject_unsupported_attrs(&mut self, node: Node, allowed: &[&str]) {
        for a in node.attributes() {
            if a.namespace().is_none() && !allowed.contains(&a.name()) {
                self.errors.push(format!(
                    "{}: unsupported attribute {:?}",
                    describe(node),
                    a.name()
                ));
            }
        }
    }

    fn element_type(&mut self, node: Node) -> Option<TypeRef> {
        if xs_children(node).next().is_some() {
            self.errors.push(format!(
                "{}: anonymous (inline) types are unsupported",
                describe(node)
            ));
            return None;
        }
        match node.attribute("type") {
            Some(t) => self.resolve_qname(node, t),
            None => {
                self.errors.push(format!(
                    "{}: element without type= is unsupported",
                    describe(node)
                ));
                None
            }
        }
    }

    fn occurs(&mut self, node: Node) -> (u64, Option<u64>) {
        let parse = |s: &str| s.trim().parse::<u64>().ok();
        let min = match node.attribute("minOccurs") {
            None => 1,
            Some(s) => parse(s).unwrap_or_else(|| {
                self.errors
                    .push(format!("{}: bad minOccurs {s:?}", describe(node)));
                1
            }),
        };
        let max = match node.attribute("maxOccurs") {
            None => Some(1),
            Some("unbounded") => None,
            Some(s) => Some(parse(s).unwrap_or_else(|| {
                self.errors
                    .push(format!("{}: bad maxOccurs {s:?}", describe(node)));
                1
            })),
        };
        if max.is_some_and(|m| m < min) {
            self.errors
                .push(format!("{}: maxOccurs < minOccurs", describe(node)));
        }
        (min, max)
    }

    fn particle(&mut self, node: Node) -> Option<Particle> {
        if node.tag_name().namespace() != Some(XS_NS) {
            self.errors.push(format!(
                "unexpected element {:?} in content model",
                node.tag_name().name()
            ));
            return None;
        }
        let (min, max) = self.occurs(node);
        let term = match node.tag_name().name() {
            "element" => {
                self.reject_unsupported_attrs(
                    node,
                    &["name", "type", "minOccurs", "maxOccurs", "form", "nillable"],
                );
                let Some(name) = node.attribute("name") else {
                    self.errors.push(format!(
                        "{}: element without name= (ref= is unsupported)",
                        describe(node)
                    ));
                    return None;
                };
                let qualified = match node.attribute("form") {
                    Some(f) => f == "qualified",
                    None => self.element_qualified,
                };
                let ty = self.element_type(node)?;
                Term::Element(ElementDecl {
                    name: name.to_string(),
                    ns: if qualified { self.tns.clone() } else { None },
                    ty,
                })
            }
            kind @ ("sequence" | "choice") => {
                self.reject_unsupported_attrs(node, &["minOccurs", "maxOccurs"]);
                let mut ps = Vec::new();
                for c in xs_children(node) {
                    if let Some(p) = self.particle(c) {
                        ps.push(p);
                    }
                }
                if kind == "sequence" {
                    Term::Sequence(ps)
                } else {
                    Term::Choice(ps)
                }
            }
            other => {
                self.errors
                    .push(format!("unsupported content-model construct xs:{other}"));
                return None;
            }
        };
        Some(Particle { min, max, term })
    }

    fn attribute(&mut self, node: Node) -> Option<AttrDecl> {
        self.reject_unsupported_attrs(node, &["name", "type", "use", "form"]);
        let name = node.attribute("name").or_else(|| {
            self.errors.push(format!(
                "{}: attribute without name= (ref= is unsupported)",
                describe(node)
            ));
            None
        })?;
        let qualified = match node.attribute("form") {
            Some(f) => f == "qualified",
            None => self.attribute_qualified,
        };
        let required = match node.attribute("use") {
            None | Some("optional") => false,
            Some("required") => true,
            Some(other) => {
                self.errors
                    .push(format!("{}: unsupported use={other:?}", describe(node)));
                false
            }
        };
        let ty = self.element_type(node)?;
        Some(AttrDecl {
            name: name.to_string(),
            ns: if qualified { self.tns.clone() } else { None },
            ty,
            required,
        })
    }

    fn complex_type(&mut self, node: Node) -> Option<ComplexType> {
        self.reject_unsupported_attrs(node, &["name"]);
        let mut content = Content::Elements(None);
        let mut attrs = Vec::new();
        for c in xs_children(node) {
            let kind = if c.tag_name().namespace() == Some(XS_NS) {
                c.tag_name().name()
            } else {
                ""
            };
            match kind {
                "sequence" | "choice" => {
                    if !matches!(content, Content::Elements(None)) {
                        self.errors
                            .push(format!("{}: more than one content model", describe(node)));
                    }
                    content = Content::Elements(Some(self.particle(c)?));
                }
                "attribute" => attrs.push(self.attribute(c)?),
                "simpleContent" => {
                    let mut ext = xs_children(c);
                    let (Some(e), None) = (ext.next(), ext.next()) else {
                        self.errors
                            .push(format!("{}: malformed xs:simpleContent", describe(node)));
                        return None;
                    };
                    if e.tag_name().name() != "extension" {
                        self.errors.push(format!(
                            "{}: xs:simpleContent/xs:{} is unsupported",
                            describe(node),
                            e.tag_name().name()
                        ));
                        return None;
                    }
                    let base = e.attribute("base")?;
                    content = Content::Simple(self.resolve_qname(e, base)?);
                    for a in xs_children(e) {
                        if a.tag_name().name() != "attribute" {
                            self.errors.push(format!(
                                "{}: unsupported xs:{}",
                                describe(node),
                                a.tag_name().name()
                            ));
                            continue;
                        }
                        attrs.push(self.attribute(a)?);
                    }
                }
                _ => {
                    self.errors.push(format!(
                        "{}: unsupported child xs:{}",
                        describe(node),
                        c.tag_name().name()
                    ));
                    return None;
                }
            }
        }
        Some(ComplexType { content, attrs })
    }

    fn simple_type(&mut self, node: Node) -> Option<SimpleType> {
        self.reject_unsupported_attrs(node, &["name"]);
        let mut kids = xs_children(node);
        let (Some(r), None) = (kids.next(), kids.next()) else {
            self.errors.push(format!(
                "{}: expected exactly one xs:restriction",
                describe(node)
            ));
            return None;
        };
        if r.tag_name().name() != "restriction" {
            self.errors.push(format!(
                "{}: xs:{} is unsupported",
                describe(node),
                r.tag_name().name()
            ));
            return None;
        }
        let Some(base) = r.attribute("base") else {
            self.errors
                .push(format!("{}: xs:restriction without base=", describe(node)));
            return None;
        };
        let base = self.resolve_qname(r, base)?;
        let mut f = Facets::default();
        let ctx = describe(node);
        for facet in xs_children(r) {
            let Some(value) = facet.attribute("value") else {
                self.errors.push(format!(
                    "{ctx}: facet xs:{} without value",
                    facet.tag_name().name()
                ));
                continue;
            };
            let count =
                |slot: &mut Option<usize>, errors: &mut Vec<String>| match value.trim().parse() {
                    Ok(n) => *slot = Some(n),
                    Err(_) => errors.push(format!("{ctx}: bad facet value {value:?}")),
                };
            let decimal = |slot: &mut Option<String>, errors: &mut Vec<String>| {
                if parse_decimal(value.trim()).is_some() {
                    *slot = Some(value.trim().to_string());
                } else {
                    errors.push(format!(
                        "{ctx}: range facets are only supported as decimals, got {value:?}"
                    ));
                }
            };
            let e = &mut self.errors;
            match facet.tag_name().name() {
                "enumeration" => f.enumeration.push(value.to_string()),
                "pattern" => match xsd_regex_to_rust(value)
                    .and_then(|re| Regex::new(&re).map_err(|e| e.to_string()))
                {
                    Ok(re) => f.patterns.push((value.to_string(), re)),
                    Err(err) => e.push(format!("{ctx}: unsupported pattern {value:?}: {err}")),
                },
                "length" => count(&mut f.length, e),
                "minLength" => count(&mut f.min_length, e),
                "maxLength" => count(&mut f.max_length, e),
                "totalDigits" => count(&mut f.total_digits, e),
                "fractionDigits" => count(&mut f.fraction_digits, e),
                "minInclusive" => decimal(&mut f.min_inclusive, e),
                "maxInclusive" => decimal(&mut f.max_inclusive, e),
                "minExclusive" => decimal(&mut f.min_exclusive, e),
                "maxExclusive" => decimal(&mut f.max_exclusive, e),
                "whiteSpace" => {
                    f.white_space = match value {
                        "preserve" => Some(WhiteSpace::Preserve),
                        "replace" => Some(WhiteSpace::Replace),
                        "collapse" => Some(WhiteSpace::Collapse),
                        _ => {
                            e.push(format!("{ctx}: bad whiteSpace {value:?}"));
                            None
                        }
                    }
                }
                other => e.push(format!("{ctx}: unsupported facet xs:{other}")),
            }
        }
        Some(SimpleType { base, facets: f })
    }
}

/// Translates an XSD regular expression into `regex` crate syntax, anchored
/// as `^(?:...)$`. XSD regexes are implicitly anchored, treat `^`/`$` as
/// literals outside character classes and have no `&&`/`~~` class operators.
fn xsd_regex_to_rust(xsd: &str) -> Result<String, String> {
    let mut out = String::from("^(?:");
    let mut in_class = false;
    let mut chars = xsd.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(e) = chars.next() else {
                    return Err("trailing backslash".into());
                };
                match e {
                    'i' | 'I' | 'c' | 'C' => return Err(format!("\\{e} is unsupported")),
                    'p' | 'P' => {
                        // \p{IsBlock} (Unicode blocks) is not supported by `regex`;
                        // Regex::new reports it.
                        out.push('\\');
                        out.push(e);
                    }
                    _ => {
                        out.push('\\');
                        out.push(e);
                    }
                }
            }
            '[' if in_class => return Err("character class subtraction is unsupported".into()),
            '[' => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap_or('^'));
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '-' if in_class && chars.peek() == Some(&'[') => {
                return Err("character class subtraction is unsupported".into());
            }
            '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            '^' | '$' if !in_class => {
                out.push('\\');
                out.push(c);
            }
            '.' if !in_class => out.push_str("[^\\n\\r]"),
            _ => out.push(c),
        }
    }
    if in_class {
        return Err("unterminated character class".into());
    }
    out.push_str(")$");
    Ok(out)
}

// ---------------------------------------------------------------------------
// Simple values
// ---------------------------------------------------------------------------

fn normalize_whitespace(raw: &str, ws: WhiteSpace) -> String {
    match ws {
        WhiteSpace::Preserve => raw.to_string(),
        WhiteSpace::Replace => raw.replace(['\t', '\n', '\r'], " "),
        WhiteSpace::Collapse => raw
            .split([' ', '\t', '\n', '\r'])
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// A decimal split into sign, integer digits (no leading zeros) and fraction
/// digits (no trailing zeros).
#[derive(Debug, PartialEq, Eq)]
struct Dec {
    negative: bool,
    int: String,
    frac: String,
}

fn parse_decimal(v: &str) -> Option<Dec> {
    let (negative, rest) = match v.as_bytes().first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        _ => (false, v),
    };
    let (int, frac) = rest.split_once('.').unwrap_or((rest, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return None;
    }
    let int = int.trim_start_matches('0').to_string();
    let frac = frac.trim_end_matches('0').to_string();
    let negative = negative && !(int.is_empty() && frac.is_empty());
    Some(Dec {
        negative,
        int,
        frac,
    })
}

fn dec_cmp(a: &Dec, b: &Dec) -> Ordering {
    let magnitude = a
        .int
        .len()
        .cmp(&b.int.len())
        .then_with(|| a.int.cmp(&b.int))
        .then_with(|| a.frac.cmp(&b.frac));
    match (a.negative, b.negative) {
        (false, false) => magnitude,
        (true, true) => magnitude.reverse(),
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn date_regex() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"^(-?[0-9]{4,})-([0-9]{2})-([0-9]{2})(?:T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?)?(Z|[+-]([0-9]{2}):([0-9]{2}))?$",
        )
        .expect("valid regex")
    })
}

/// Checks an `xs:date` (`with_time == false`) or `xs:dateTime` value.
fn check_date_like(v: &str, with_time: bool) -> bool {
    let Some(c) = date_regex().captures(v) else {
        return false;
    };
    if c.get(4).is_some() != with_time {
        return false;
    }
    let num = |i: usize| {
        c.get(i)
            .map_or(0, |m| m.as_str().parse::<i64>().unwrap_or(i64::MAX))
    };
    let year_str = &c[1];
    let unsigned = year_str.trim_start_matches('-');
    if (unsigned.len() > 4 && unsigned.starts_with('0')) || year_str.parse::<i64>().is_err() {
        return false;
    }
    let (year, month, day) = (num(1), num(2), num(3));
    if year == 0 || !(1..=12).contains(&month) {
        return false;
    }
    // Astronomical years are irrelevant here; treat negative years like positive ones.
    let days = match month {
        2 if is_leap(year.abs()) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1..=days).contains(&day) {
        return false;
    }
    if with_time {
        let (h, m, s) = (num(4), num(5), num(6));
        let midnight = h == 24
            && m == 0
            && s == 0
            && c.get(7)
                .is_none_or(|f| f.as_str().bytes().skip(1).all(|b| b == b'0'));
        if !(midnight || (h < 24 && m < 60 && s < 60)) {
            return false;
        }
    }
    if c.get(9).is_some() {
        let (th, tm) = (num(9), num(10));
        if tm > 59 || th > 14 || (th == 14 && tm != 0) {
            return false;
        }
    }
    true
}

fn check_date(v: &str) -> bool {
    check_date_like(v, false)
}

fn check_date_time(v: &str) -> bool {
    check_date_like(v, true)
}

fn check_facets(f: &Facets, builtin: Builtin, v: &str) -> Result<(), String> {
    let is_decimal = builtin == Builtin::Decimal;
    if !f.enumeration.is_empty() {
        let hit = f.enumeration.iter().any(|e| {
            if is_decimal {
                matches!((parse_decimal(e.trim()), parse_decimal(v)), (Some(a), Some(b)) if a == b)
            } else {
                e == v
            }
        });
        if !hit {
            return Err(format!(
                "{v:?} is not one of the enumerated values {:?}",
                f.enumeration
            ));
        }
    }
    if !f.patterns.is_empty() && !f.patterns.iter().any(|(_, re)| re.is_match(v)) {
        let pats: Vec<&str> = f.patterns.iter().map(|(p, _)| p.as_str()).collect();
        return Err(format!("{v:?} does not match pattern {}", pats.join(" | ")));
    }
    let len = v.chars().count();
    if f.length.is_some_and(|n| len != n) {
        return Err(format!(
            "{v:?} has length {len}, violates length={}",
            f.length.unwrap_or(0)
        ));
    }
    if let Some(n) = f.min_length
        && len < n
    {
        return Err(format!("{v:?} has length {len}, violates minLength={n}"));
    }
    if let Some(n) = f.max_length
        && len > n
    {
        return Err(format!(
            "value has length {len}, violates maxLength={n}: {v:?}"
        ));
    }
    let needs_decimal = f.total_digits.is_some()
        || f.fraction_digits.is_some()
        || f.min_inclusive.is_some()
        || f.max_inclusive.is_some()
        || f.min_exclusive.is_some()
        || f.max_exclusive.is_some();
    if !needs_decimal {
        return Ok(());
    }
    let Some(d) = parse_decimal(v).filter(|_| is_decimal) else {
        return Err(format!(
            "digit/range facets are only supported on xs:decimal, got {v:?}"
        ));
    };
    if let Some(n) = f.total_digits {
        let total = d.int.len() + d.frac.len();
        if total > n {
            return Err(format!(
                "{v:?} has {total} significant digits, violates totalDigits={n}"
            ));
        }
    }
    if let Some(n) = f.fraction_digits
        && d.frac.len() > n
    {
        return Err(format!(
            "{v:?} has {} fraction digits, violates fractionDigits={n}",
            d.frac.len()
        ));
    }
    let bounds: [(&Option<String>, &str, &[Ordering]); 4] = [
        (
            &f.min_inclusive,
            "minInclusive",
            &[Ordering::Greater, Ordering::Equal],
        ),
        (
            &f.max_inclusive,
            "maxInclusive",
            &[Ordering::Less, Ordering::Equal],
        ),
        (&f.min_exclusive, "minExclusive", &[Ordering::Greater]),
        (&f.max_exclusive, "maxExclusive", &[Ordering::Less]),
    ];
    for (bound, facet, allowed) in bounds {
        if let Some(b) = bound
            && let Some(bd) = parse_decimal(b)
            && !allowed.contains(&dec_cmp(&d, &bd))
        {
            return Err(format!("{v:?} violates {facet}={b}"));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Instance validation
// ---------------------------------------------------------------------------

struct Validator<'s> {
    schema: &'s Schema,
    errors: Vec<String>,
}

/// State while matching the children of one element against its content model.
struct Cursor<'a, 'i, 's> {
    path: String,
    kids: Vec<Node<'a, 'i>>,
    pos: usize,
    root: &'s Particle,
}

enum TermMatch {
    /// The term could not start at the current child; nothing was consumed
    /// and no error was recorded.
    NotStarted,
    /// The term matched (possibly consuming nothing if it is emptiable).
    Done,
}

type NameSet<'s> = BTreeSet<&'s str>;

fn emptiable(p: &Particle) -> bool {
    p.min == 0
        || match &p.term {
            Term::Element(_) => false,
            Term::Sequence(ps) => ps.iter().all(emptiable),
            Term::Choice(ps) => ps.iter().any(emptiable),
        }
}

/// Names of the elements that can start `p`.
fn first<'s>(p: &'s Particle, out: &mut NameSet<'s>) {
    match &p.term {
        Term::Element(d) => {
            out.insert(&d.name);
        }
        Term::Sequence(ps) => first_of_seq(ps, out),
        Term::Choice(ps) => ps.iter().for_each(|p| first(p, out)),
    }
}

fn first_of_seq<'s>(ps: &'s [Particle], out: &mut NameSet<'s>) {
    for p in ps {
        first(p, out);
        if !emptiable(p) {
            break;
        }
    }
}

fn first_set(p: &Particle) -> NameSet<'_> {
    let mut s = NameSet::new();
    first(p, &mut s);
    s
}

fn one_of(names: &NameSet) -> String {
    let v: Vec<&str> = names.iter().copied().collect();
    match v.len() {
        0 => "nothing".to_string(),
        1 => v[0].to_string(),
        _ => format!("one of {}", v.join(", ")),
    }
}

/// Finds the declaration of a local element named `name` anywhere in `p`
/// (XSD's "Element Declarations Consistent" makes it unique per type).
fn find_decl<'s>(p: &'s Particle, name: &str) -> Option<&'s ElementDecl> {
    match &p.term {
        Term::Element(d) => (d.name == name).then_some(d),
        Term::Sequence(ps) | Term::Choice(ps) => ps.iter().find_map(|p| find_decl(p, name)),
    }
}

/// The element's local name, prefixed with `{namespace}` unless it is in `tns`.
fn node_name(n: Node, tns: Option<&str>) -> String {
    let t = n.tag_name();
    match t.namespace() {
        ns if ns == tns => t.name().to_string(),
        Some(ns) => format!("{{{ns}}}{}", t.name()),
        None => format!("{{}}{}", t.name()),
    }
}

impl<'s> Validator<'s> {
    fn err(&mut self, path: &str, msg: impl std::fmt::Display) {
        self.errors.push(format!("{path}: {msg}"));
    }

    fn validate_root(&mut self, root: Node) {
        let name = root.tag_name().name();
        let path = format!("/{name}");
        let ns = root.tag_name().namespace();
        match self.schema.elements.get(name) {
            Some(ty) if ns == self.schema.tns.as_deref() => self.validate_element(root, ty, &path),
            _ => {
                let mut declared: Vec<&str> =
                    self.schema.elements.keys().map(String::as_str).collect();
                declared.sort_unstable();
                self.err(
                    &path,
                    format!(
                        "root element {} is not declared; expected {} in namespace {:?}",
                        node_name(root, None),
                        declared.join(" or "),
                        self.schema.tns.as_deref().unwrap_or("")
                    ),
                );
            }
        }
    }

    fn validate_element(&mut self, node: Node, ty: &'s TypeRef, path: &str) {
        match self.schema.resolve(ty) {
            Resolved::Simple(st) => {
                self.check_attributes(node, &[], path);
                self.check_simple_content(node, st, path);
            }
            Resolved::Complex(ct) => {
                self.check_attributes(node, &ct.attrs, path);
                match &ct.content {
                    Content::Simple(st) => self.check_simple_content(node, st, path),
                    Content::Elements(model) => {
                        self.check_element_content(node, model.as_ref(), path)
                    }
                }
            }
        }
    }

    fn check_attributes(&mut self, node: Node, decls: &'s [AttrDecl], path: &str) {
        for a in node.attributes() {
            if a.namespace() == Some(XSI_NS) {
                continue;
            }
            match decls
                .iter()
                .find(|d| d.name == a.name() && d.ns.as_deref() == a.namespace())
            {
                Some(d) => {
                    if let Err(e) = self.schema.check_simple(&d.ty, a.value()) {
                        self.err(path, format!("attribute {}: {e}", d.name));
                    }
                }
                None => self.err(path, format!("unknown attribute {:?}", a.name())),
            }
        }
        for d in decls.iter().filter(|d| d.required) {
            if node
                .attributes()
                .all(|a| a.name() != d.name || a.namespace() != d.ns.as_deref())
            {
                self.err(path, format!("missing required attribute {:?}", d.name));
            }
        }
    }

    fn check_simple_content(&mut self, node: Node, ty: &TypeRef, path: &str) {
        let mut text = String::new();
        for c in node.children() {
            if c.is_element() {
                self.err(
                    path,
                    format!(
                        "child element {:?} not allowed in simple content",
                        c.tag_name().name()
                    ),
                );
            } else if c.is_text() {
                text.push_str(c.text().unwrap_or(""));
            }
        }
        if let Err(e) = self.schema.check_simple(ty, &text) {
            self.err(path, e);
        }
    }

    fn check_element_content(&mut self, node: Node, model: Option<&'s Particle>, path: &str) {
        let mut kids = Vec::new();
        for c in node.children() {
            if c.is_element() {
                kids.push(c);
            } else if c.is_text() {
                let t = c.text().unwrap_or("");
                if !t.trim().is_empty() {
                    let shown: String = t.trim().chars().take(40).collect();
                    self.err(
                        path,
                        format!("text {shown:?} not allowed in element-only content"),
                    );
                }
            }
        }
        let Some(root) = model else {
            for k in kids {
                self.err(
                    path,
                    format!(
                        "unexpected element {:?}: content must be empty",
                        k.tag_name().name()
                    ),
                );
            }
            return;
        };
        let mut cur = Cursor {
            path: path.to_string(),
            kids,
            pos: 0,
            root,
        };
        loop {
            let before = cur.pos;
            let count = self.match_particle(&mut cur, root, &NameSet::new());
            if cur.pos >= cur.kids.len() {
                if count < root.min && cur.pos == before {
                    self.err(
                        path,
                        format!("missing required element {}", one_of(&first_set(root))),
                    );
                }
                break;
            }
            if cur.pos == before {
                // Nothing matched at all: skip the offending child and retry.
                let msg = format!("expected {}", one_of(&first_set(root)));
                self.skip_unexpected(&mut cur, &msg);
                continue;
            }
            while cur.pos < cur.kids.len() {
                self.skip_unexpected(&mut cur, "no more elements are allowed here");
            }
            break;
        }
    }

    /// Path of the current child; indexed (`Name[k]`) when the particle can repeat
    /// or the name occurs more than once.
    fn kid_path(cur: &Cursor<'_, '_, 's>, indexed: bool) -> String {
        let kid = cur.kids[cur.pos];
        let name = kid.tag_name().name();
        let same = |n: &&Node| n.tag_name().name() == name;
        let k = cur.kids[..cur.pos].iter().filter(same).count();
        if indexed || cur.kids.iter().filter(same).count() > 1 {
            format!("{}/{name}[{k}]", cur.path)
        } else {
            format!("{}/{name}", cur.path)
        }
    }

    /// Consumes the current child as matching `decl` and validates it.
    fn consume(&mut self, cur: &mut Cursor<'_, '_, 's>, decl: &'s ElementDecl, indexed: bool) {
        let kid = cur.kids[cur.pos];
        let path = Self::kid_path(cur, indexed);
        cur.pos += 1;
        if kid.tag_name().namespace() != decl.ns.as_deref() {
            self.err(
                &path,
                format!(
                    "element is in namespace {:?}, expected {:?}",
                    kid.tag_name().namespace().unwrap_or(""),
                    decl.ns.as_deref().unwrap_or("")
                ),
            );
        }
        self.validate_element(kid, &decl.ty, &path);
    }

    /// Reports the current child as unexpected, skips it, and still validates its
    /// subtree if its name is declared somewhere in this content model.
    fn skip_unexpected(&mut self, cur: &mut Cursor<'_, '_, 's>, why: &str) {
        let kid = cur.kids[cur.pos];
        let path = Self::kid_path(cur, false);
        self.err(
            &path,
            format!(
                "unexpected element {}; {why}",
                node_name(kid, self.schema.tns.as_deref())
            ),
        );
        cur.pos += 1;
        if let Some(decl) = find_decl(cur.root, kid.tag_name().name())
            && kid.tag_name().namespace() == decl.ns.as_deref()
        {
            self.validate_element(kid, &decl.ty, &path);
        }
    }

    fn current_name<'a>(cur: &Cursor<'a, '_, '_>) -> Option<&'a str> {
        cur.kids.get(cur.pos).map(|k| k.tag_name().name())
    }

    /// Matches `p` greedily; returns the number of occurrences matched.
    /// `follow` holds the names that may legitimately come after `p`.
    fn match_particle(
        &mut self,
        cur: &mut Cursor<'_, '_, 's>,
        p: &'s Particle,
        follow: &NameSet<'s>,
    ) -> u64 {
        let mut term_follow = follow.clone();
        if p.max != Some(1) {
            first(p, &mut term_follow);
        }
        let mut count = 0;
        while p.max.is_none_or(|m| count < m) {
            let before = cur.pos;
            match self.match_term(cur, p, &term_follow) {
                TermMatch::NotStarted => break,
                TermMatch::Done if cur.pos == before => {
                    // Emptiable term: all remaining required occurrences match empty.
                    count = (count + 1).max(p.min);
                    break;
                }
                TermMatch::Done => count += 1,
            }
        }
        if count > 0 && count < p.min {
            self.err(
                &cur.path,
                format!(
                    "{} occurs {count} time(s), at least {} required",
                    one_of(&first_set(p)),
                    p.min
                ),
            );
        }
        if let (Term::Element(d), Some(max)) = (&p.term, p.max)
            && count >= max
            && !follow.contains(d.name.as_str())
        {
            while Self::current_name(cur) == Some(d.name.as_str()) {
                self.skip_unexpected(
                    cur,
                    &format!("too many occurrences of {} (maxOccurs={max})", d.name),
                );
            }
        }
        count
    }

    fn match_term(
        &mut self,
        cur: &mut Cursor<'_, '_, 's>,
        p: &'s Particle,
        follow: &NameSet<'s>,
    ) -> TermMatch {
        match &p.term {
            Term::Element(d) => {
                if Self::current_name(cur) == Some(d.name.as_str()) {
                    self.consume(cur, d, p.max != Some(1));
                    TermMatch::Done
                } else {
                    TermMatch::NotStarted
                }
            }
            Term::Choice(alts) => {
                if let Some(name) = Self::current_name(cur)
                    && let Some(alt) = alts.iter().find(|a| first_set(a).contains(name))
                {
                    self.match_particle(cur, alt, follow);
                    return TermMatch::Done;
                }
                if alts.iter().any(emptiable) {
                    TermMatch::Done
                } else {
                    TermMatch::NotStarted
                }
            }
            Term::Sequence(ps) => {
                let start = cur.pos;
                // First particle after the last one that consumed a child; every
                // particle from there to the current one matched nothing. After
                // skipping an out-of-place child, matching resumes there.
                let mut resume = 0;
                let mut i = 0;
                while i < ps.len() {
                    let p = &ps[i];
                    let mut later = NameSet::new();
                    first_of_seq(&ps[i + 1..], &mut later);
                    let mut after = later.clone();
                    if ps[i + 1..].iter().all(emptiable) {
                        after.extend(follow.iter().copied());
                    }
                    let before = cur.pos;
                    let count = self.match_particle(cur, p, &after);
                    if cur.pos != before {
                        resume = i + 1;
                    }
                    if count > 0 || p.min == 0 {
                        i += 1;
                        continue;
                    }
                    let expected = one_of(&first_set(p));
                    match Self::current_name(cur) {
                        // Nothing consumed yet and the child does not belong to a later
                        // particle of this sequence: the sequence did not start here.
                        Some(name)
                            if cur.pos == start
                                && (follow.contains(name) || !later.contains(name)) =>
                        {
                            return TermMatch::NotStarted;
                        }
                        None if cur.pos == start => return TermMatch::NotStarted,
                        // A child nobody here expects: report it, skip it, and retry.
                        Some(name) if !after.contains(name) => {
                            self.skip_unexpected(cur, &format!("expected {expected}"));
                            i = resume;
                        }
                        // The child belongs further on: the required element is missing.
                        Some(name) => {
                            self.err(
                                &cur.path,
                                format!("missing required element {expected} before {name}"),
                            );
                            i += 1;
                        }
                        None => {
                            self.err(&cur.path, format!("missing required element {expected}"));
                            i += 1;
                        }
                    }
                }
                TermMatch::Done
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const XSD: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/pain.001.001.03.xsd"
    ));

    const VALID: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"
          xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <CstmrCdtTrfInitn>
    <GrpHdr>
      <MsgId>COFUND-20240315-0001</MsgId>
      <CreDtTm>2024-03-15T10:30:00</CreDtTm>
      <NbOfTxs>2</NbOfTxs>
      <CtrlSum>1750.50</CtrlSum>
      <InitgPty>
        <Nm>Cofund Platform GmbH</Nm>
      </InitgPty>
    </GrpHdr>
    <PmtInf>
      <PmtInfId>PAYOUT-2024-03-15-A</PmtInfId>
      <PmtMtd>TRF</PmtMtd>
      <BtchBookg>true</BtchBookg>
      <NbOfTxs>2</NbOfTxs>
      <CtrlSum>1750.50</CtrlSum>
      <PmtTpInf>
        <SvcLvl>
          <Cd>SEPA</Cd>
        </SvcLvl>
      </PmtTpInf>
      <ReqdExctnDt>2024-03-18</ReqdExctnDt>
      <Dbtr>
        <Nm>Cofund Platform GmbH</Nm>
      </Dbtr>
      <DbtrAcct>
        <Id>
          <IBAN>DE89370400440532013000</IBAN>
        </Id>
      </DbtrAcct>
      <DbtrAgt>
        <FinInstnId>
          <BIC>COBADEFFXXX</BIC>
        </FinInstnId>
      </DbtrAgt>
      <ChrgBr>SLEV</ChrgBr>
      <CdtTrfTxInf>
        <PmtId>
          <EndToEndId>CAMPAIGN-42-PAYOUT-1</EndToEndId>
        </PmtId>
        <Amt>
          <InstdAmt Ccy="EUR">1250.00</InstdAmt>
        </Amt>
        <CdtrAgt>
          <FinInstnId>
            <BIC>BNPAFRPPXXX</BIC>
          </FinInstnId>
        </CdtrAgt>
        <Cdtr>
          <Nm>Association des Amis du Parc</Nm>
        </Cdtr>
        <CdtrAcct>
          <Id>
            <IBAN>FR1420041010050500013M02606</IBAN>
          </Id>
        </CdtrAcct>
        <RmtInf>
          <Ustrd>Payout campaign 42 - Spring cleanup</Ustrd>
        </RmtInf>
      </CdtTrfTxInf>
      <CdtTrfTxInf>
        <PmtId>
          <EndToEndId>CAMPAIGN-43-PAYOUT-1</EndToEndId>
        </PmtId>
        <Amt>
          <InstdAmt Ccy="EUR">500.50</InstdAmt>
        </Amt>
        <CdtrAgt>
          <FinInstnId>
            <Othr>
              <Id>NOTPROVIDED</Id>
            </Othr>
          </FinInstnId>
        </CdtrAgt>
        <Cdtr>
          <Nm>Förderverein Grundschule Süd e.V.</Nm>
        </Cdtr>
        <CdtrAcct>
          <Id>
            <IBAN>DE02120300000000202051</IBAN>
          </Id>
        </CdtrAcct>
        <RmtInf>
          <Ustrd>Payout campaign 43</Ustrd>
        </RmtInf>
      </CdtTrfTxInf>
    </PmtInf>
  </CstmrCdtTrfInitn>
</Document>
"#;

    const TX0: &str = "/Document/CstmrCdtTrfInitn/PmtInf[0]/CdtTrfTxInf[0]";

    /// Applies a textual edit to the valid document, making sure it applied.
    fn mutate(from: &str, to: &str) -> String {
        assert!(VALID.contains(from), "fixture does not contain {from:?}");
        VALID.replacen(from, to, 1)
    }

    /// Asserts that validation fails and some error mentions every needle.
    fn assert_error(xml: &str, needles: &[&str]) -> Vec<String> {
        let errors = validate(XSD, xml).expect_err("document should be invalid");
        assert!(
            errors.iter().any(|e| needles.iter().all(|n| e.contains(n))),
            "no error contains all of {needles:?}; errors: {errors:#?}"
        );
        errors
    }

    #[test]
    fn valid_document_passes() {
        assert_eq!(validate(XSD, VALID), Ok(()));
    }

    #[test]
    fn schema_loads_and_has_expected_shape() {
        let s = Schema::parse(XSD).expect("schema parses");
        assert_eq!(
            s.tns.as_deref(),
            Some("urn:iso:std:iso:20022:tech:xsd:pain.001.001.03")
        );
        assert_eq!(
            s.elements.get("Document"),
            Some(&TypeRef::Named("Document".into()))
        );
        assert!(s.complex.contains_key("PaymentInstructionInformation3"));
        assert!(s.simple.contains_key("IBAN2007Identifier"));
    }

    #[test]
    fn wrong_element_order_fails() {
        let xml = mutate(
            "<CreDtTm>2024-03-15T10:30:00</CreDtTm>\n      <NbOfTxs>2</NbOfTxs>",
            "<NbOfTxs>2</NbOfTxs>\n      <CreDtTm>2024-03-15T10:30:00</CreDtTm>",
        );
        let errors = assert_error(
            &xml,
            &[
                "/Document/CstmrCdtTrfInitn/GrpHdr",
                "missing required element CreDtTm",
            ],
        );
        assert!(
            errors
                .iter()
                .any(|e| e.contains("GrpHdr/CreDtTm: unexpected element")),
            "{errors:#?}"
        );
        // Recovery: CtrlSum and InitgPty after the misplaced element still match.
        assert_eq!(errors.len(), 2, "{errors:#?}");
    }

    #[test]
    fn missing_mandatory_element_fails() {
        let start = VALID.find("<DbtrAgt>").unwrap();
        let end = VALID.find("</DbtrAgt>").unwrap() + "</DbtrAgt>".len();
        let xml = format!("{}{}", &VALID[..start], &VALID[end..]);
        let errors = assert_error(
            &xml,
            &[
                "/Document/CstmrCdtTrfInitn/PmtInf[0]: ",
                "missing required element DbtrAgt",
            ],
        );
        // Recovery: the rest of the payment instruction is still matched normally.
        assert_eq!(errors.len(), 1, "{errors:#?}");
    }

    #[test]
    fn missing_first_element_of_sequence_fails() {
        let xml = mutate("<PmtInfId>PAYOUT-2024-03-15-A</PmtInfId>", "");
        let errors = assert_error(
            &xml,
            &[
                "/Document/CstmrCdtTrfInitn/PmtInf[0]: ",
                "missing required element PmtInfId",
            ],
        );
        assert_eq!(errors.len(), 1, "{errors:#?}");
        let xml = mutate(r#"<InstdAmt Ccy="EUR">1250.00</InstdAmt>"#, "");
        assert_error(
            &xml,
            &[
                &format!("{TX0}/Amt: "),
                "missing required element one of EqvtAmt, InstdAmt",
            ],
        );
    }

    #[test]
    fn too_many_fraction_digits_fail() {
        // The official pain.001.001.03 allows up to 5 fraction digits on amounts
        // (ActiveOrHistoricCurrencyAndAmount_SimpleType: fractionDigits=5), so
        // 3 decimals are schema-valid; 6 are not.
        let ok = mutate(">1250.00<", ">1250.125<");
        assert_eq!(validate(XSD, &ok), Ok(()));
        let xml = mutate(">1250.00<", ">1250.123456<");
        assert_error(
            &xml,
            &[&format!("{TX0}/Amt/InstdAmt: "), "fractionDigits=5"],
        );
        // fractionDigits=0 on Number-typed values is also enforced elsewhere;
        // DecimalNumber (CtrlSum) allows 17, so check totalDigits=18 instead.
        let xml = mutate(
            "<CtrlSum>1750.50</CtrlSum>",
            "<CtrlSum>1234567890123456789</CtrlSum>",
        );
        assert_error(
            &xml,
            &[
                "/Document/CstmrCdtTrfInitn/GrpHdr/CtrlSum: ",
                "totalDigits=18",
            ],
        );
    }

    #[test]
    fn negative_amount_fails_min_inclusive() {
        let xml = mutate(">500.50<", ">-500.50<");
        assert_error(
            &xml,
            &[
                "/Document/CstmrCdtTrfInitn/PmtInf[0]/CdtTrfTxInf[1]/Amt/InstdAmt: ",
                "minInclusive=0",
            ],
        );
    }

    #[test]
    fn overlong_msg_id_fails() {
        let long = "M".repeat(36);
        let xml = mutate("COFUND-20240315-0001", &long);
        assert_error(
            &xml,
            &["/Document/CstmrCdtTrfInitn/GrpHdr/MsgId: ", "maxLength=35"],
        );
        // Exactly 35 characters, including multi-byte ones, is fine: length counts characters.
        let exact = format!("{}ü", "M".repeat(34));
        assert_eq!(
            validate(XSD, &mutate("COFUND-20240315-0001", &exact)),
            Ok(())
        );
    }

    #[test]
    fn empty_msg_id_fails_min_length() {
        let xml = mutate("<MsgId>COFUND-20240315-0001</MsgId>", "<MsgId></MsgId>");
        assert_error(&xml, &["GrpHdr/MsgId: ", "minLength=1"]);
    }

    #[test]
    fn bad_iban_fails_pattern() {
        let xml = mutate(
            "<IBAN>DE89370400440532013000</IBAN>",
            "<IBAN>de89 3704 0044</IBAN>",
        );
        assert_error(
            &xml,
            &[
                "/Document/CstmrCdtTrfInitn/PmtInf[0]/DbtrAcct/Id/IBAN: ",
                "does not match pattern",
            ],
        );
    }

    #[test]
    fn missing_ccy_attribute_fails() {
        let xml = mutate(r#"<InstdAmt Ccy="EUR">1250.00"#, "<InstdAmt>1250.00");
        assert_error(
            &xml,
            &[
                &format!("{TX0}/Amt/InstdAmt: "),
                "missing required attribute \"Ccy\"",
            ],
        );
    }

    #[test]
    fn bad_ccy_and_unknown_attribute_fail() {
        let xml = mutate(
            r#"<InstdAmt Ccy="EUR">1250.00"#,
            r#"<InstdAmt Ccy="eur" Foo="1">1250.00"#,
        );
        let errors = assert_error(
            &xml,
            &["InstdAmt: ", "attribute Ccy", "does not match pattern"],
        );
        assert!(
            errors
                .iter()
                .any(|e| e.contains("unknown attribute \"Foo\"")),
            "{errors:#?}"
        );
    }

    #[test]
    fn unknown_element_fails() {
        let xml = mutate(
            "<ChrgBr>SLEV</ChrgBr>",
            "<ChrgBr>SLEV</ChrgBr>\n      <Foo>bar</Foo>",
        );
        let errors = assert_error(
            &xml,
            &[
                "/Document/CstmrCdtTrfInitn/PmtInf[0]/Foo: ",
                "unexpected element",
            ],
        );
        // Recovery: the following CdtTrfTxInf elements are still accepted.
        assert_eq!(errors.len(), 1, "{errors:#?}");
    }

    #[test]
    fn unknown_enumeration_value_fails() {
        let xml = mutate("<ChrgBr>SLEV</ChrgBr>", "<ChrgBr>FREE</ChrgBr>");
        assert_error(
            &xml,
            &[
                "/Document/CstmrCdtTrfInitn/PmtInf[0]/ChrgBr: ",
                "enumerated values",
            ],
        );
        let xml = mutate("<PmtMtd>TRF</PmtMtd>", "<PmtMtd>XXX</PmtMtd>");
        assert_error(&xml, &["PmtInf[0]/PmtMtd: ", "enumerated values"]);
    }

    #[test]
    fn text_in_element_only_content_fails() {
        let xml = mutate(
            "<Amt>\n          <InstdAmt",
            "<Amt>oops\n          <InstdAmt",
        );
        assert_error(
            &xml,
            &[&format!("{TX0}/Amt: "), "text \"oops\" not allowed"],
        );
    }

    #[test]
    fn wrong_namespace_fails() {
        let xml = VALID.replace("pain.001.001.03\"", "pain.001.001.09\"");
        let errors = assert_error(&xml, &["/Document: ", "not declared"]);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        // A single unqualified descendant is reported too.
        let xml = mutate(
            "<Nm>Cofund Platform GmbH</Nm>",
            r#"<Nm xmlns="">Cofund Platform GmbH</Nm>"#,
        );
        assert_error(&xml, &["GrpHdr/InitgPty/Nm: ", "namespace"]);
    }

    #[test]
    fn too_many_occurrences_fail() {
        let xml = mutate("<Cd>SEPA</Cd>", "<Cd>SEPA</Cd><Prtry>X</Prtry>");
        assert_error(&xml, &["PmtTpInf/SvcLvl/Prtry: ", "unexpected element"]);
        let xml = mutate(
            "<BtchBookg>true</BtchBookg>",
            "<BtchBookg>true</BtchBookg><BtchBookg>true</BtchBookg>",
        );
        assert_error(
            &xml,
            &[
                "PmtInf[0]/BtchBookg[1]: ",
                "too many occurrences of BtchBookg",
            ],
        );
    }

    #[test]
    fn bad_dates_and_booleans_fail() {
        let xml = mutate("2024-03-18", "2024-02-30");
        assert_error(&xml, &["PmtInf[0]/ReqdExctnDt: ", "not a valid xs:date"]);
        let xml = mutate("2024-03-15T10:30:00", "2024-03-15 10:30:00");
        assert_error(&xml, &["GrpHdr/CreDtTm: ", "not a valid xs:dateTime"]);
        let xml = mutate("<BtchBookg>true</BtchBookg>", "<BtchBookg>yes</BtchBookg>");
        assert_error(&xml, &["PmtInf[0]/BtchBookg: ", "not a valid xs:boolean"]);
        // Whitespace is collapsed for non-string types.
        let ok = mutate(
            "<BtchBookg>true</BtchBookg>",
            "<BtchBookg>\n  1 </BtchBookg>",
        );
        assert_eq!(validate(XSD, &ok), Ok(()));
        let ok = mutate("2024-03-15T10:30:00", "2024-02-29T23:59:59.123+01:00");
        assert_eq!(validate(XSD, &ok), Ok(()));
    }

    #[test]
    fn missing_last_required_child_fails() {
        let start = VALID.find("<CdtTrfTxInf>").unwrap();
        let end = VALID.rfind("</CdtTrfTxInf>").unwrap() + "</CdtTrfTxInf>".len();
        let xml = format!("{}{}", &VALID[..start], &VALID[end..]);
        assert_error(
            &xml,
            &["PmtInf[0]: ", "missing required element CdtTrfTxInf"],
        );
    }

    #[test]
    fn malformed_xml_and_unsupported_schema_are_errors() {
        assert!(validate(XSD, "<Document>").unwrap_err()[0].starts_with("XML parse error"));
        let xsd = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:group name="g"/></xs:schema>"#;
        assert!(validate(xsd, "<a/>").unwrap_err()[0].contains("unsupported"));
    }

    #[test]
    fn regex_translation() {
        assert_eq!(xsd_regex_to_rust("[A-Z]{3,3}").unwrap(), "^(?:[A-Z]{3,3})$");
        assert_eq!(
            xsd_regex_to_rust(r"\+[0-9]{1,3}-[0-9()+\-]{1,30}").unwrap(),
            r"^(?:\+[0-9]{1,3}-[0-9()+\-]{1,30})$"
        );
        assert_eq!(xsd_regex_to_rust("a$^").unwrap(), r"^(?:a\$\^)$");
        assert!(xsd_regex_to_rust("[a-z-[aeiou]]").is_err());
    }

    #[test]
    fn decimal_helpers() {
        assert!(parse_decimal("1.").is_some() && parse_decimal(".5").is_some());
        assert!(
            parse_decimal(".").is_none()
                && parse_decimal("1e5").is_none()
                && parse_decimal("").is_none()
        );
        let d = |s| parse_decimal(s).unwrap();
        assert_eq!(dec_cmp(&d("-0.0"), &d("0")), Ordering::Equal);
        assert_eq!(dec_cmp(&d("10"), &d("9.99")), Ordering::Greater);
        assert_eq!(dec_cmp(&d("-10"), &d("-9")), Ordering::Less);
        assert_eq!(
            d("007.500"),
            Dec {
                negative: false,
                int: "7".into(),
                frac: "5".into()
            }
        );
    }
}
