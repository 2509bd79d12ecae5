//! Naming formats (`naming.*` rules' `format` payload): a regular expression with Bytebase's
//! `{{…}}` templates, compiled once per review.

use regex::Regex;

/// A naming `format`, with Bytebase's `{{…}}` templates, compiled once per review.
#[derive(Debug, Clone)]
pub(crate) struct NameFormat {
    template: String,
    /// Compiled pattern when there is no template (or the template part was substituted).
    regex: Option<Regex>,
    /// `(allow_empty, literal template)` when the format is `^$|^literal$` or `^literal$` with
    /// no regex metacharacters outside templates: matched by string comparison, no compilation.
    literal: Option<(bool, String)>,
}

fn has_meta(s: &str) -> bool {
    s.chars().any(|c| "\\.+*?()|[]{}^$".contains(c))
}

impl NameFormat {
    pub(crate) fn new(template: &str) -> Result<NameFormat, regex::Error> {
        let has_templates = template.contains("{{");
        let (allow_empty, rest) = match template.strip_prefix("^$|") {
            Some(rest) => (true, rest),
            None => (false, template),
        };
        let literal = rest
            .strip_prefix('^')
            .and_then(|r| r.strip_suffix('$'))
            .filter(|inner| !has_meta(&strip_templates(inner)))
            .map(|inner| (allow_empty, inner.to_owned()));
        // Validate the pattern with placeholders filled in.
        let probe = fill(template, &|_| "x".to_owned());
        let compiled = Regex::new(&probe)?;
        Ok(NameFormat {
            template: template.to_owned(),
            regex: if has_templates { None } else { Some(compiled) },
            literal,
        })
    }

    /// The template text as configured.
    pub(crate) fn template(&self) -> &str {
        &self.template
    }

    /// Whether `name` matches, with `vars` substituted for `{{key}}` placeholders.
    pub(crate) fn matches(&self, name: &str, vars: &[(&str, &str)]) -> bool {
        let lookup = |key: &str| {
            vars.iter()
                .find(|(k, _)| *k == key)
                .map_or_else(String::new, |(_, v)| (*v).to_owned())
        };
        if let Some((allow_empty, lit)) = &self.literal {
            return (*allow_empty && name.is_empty()) || fill(lit, &lookup) == name;
        }
        if let Some(re) = &self.regex {
            return re.is_match(name);
        }
        let pattern = fill(&self.template, &|k| regex::escape(&lookup(k)));
        Regex::new(&pattern).is_ok_and(|re| re.is_match(name))
    }

    /// The expected name when the format is a plain template (for messages).
    pub(crate) fn expected(&self, vars: &[(&str, &str)]) -> Option<String> {
        let (_, lit) = self.literal.as_ref()?;
        Some(fill(lit, &|key: &str| {
            vars.iter()
                .find(|(k, _)| *k == key)
                .map_or_else(String::new, |(_, v)| (*v).to_owned())
        }))
    }
}

fn strip_templates(s: &str) -> String {
    fill(s, &|_| String::new())
}

/// Replaces every `{{key}}` in `s` with `f(key)`.
fn fill(s: &str, f: &dyn Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        if let Some(end) = after.find("}}") {
            out.push_str(&f(after[..end].trim()));
            rest = &after[end + 2..];
        } else {
            out.push_str(&rest[start..]);
            rest = "";
        }
    }
    out.push_str(rest);
    out
}
