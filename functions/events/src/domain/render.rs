//! `{{variable}}` templates. Placeholders name paths into the event's variables
//! (`{{data.barcode}}`); a placeholder with no value is an error naming every missing
//! variable, so a preview shows the problem instead of a sent message showing a blank.

use serde_json::Value;

/// How substituted values are escaped for the channel's markup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// Plain text (email bodies, SMS, in-app).
    None,
    /// Slack mrkdwn: `&`, `<` and `>` are control characters.
    Slack,
    /// HTML (Teams cards render a subset of it).
    Html,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("missing variables: {}", .0.join(", "))]
    Missing(Vec<String>),
    #[error("unclosed placeholder at byte {0}")]
    Unclosed(usize),
    #[error("invalid placeholder {0:?}: use letters, digits, _ and . only")]
    Invalid(String),
}

/// The placeholders of `template`, in order of first use.
pub fn placeholders(template: &str) -> Result<Vec<String>, RenderError> {
    let mut out: Vec<String> = Vec::new();
    for piece in pieces(template)? {
        if let Piece::Var(v) = piece
            && !out.iter().any(|o| o == v)
        {
            out.push(v.to_owned());
        }
    }
    Ok(out)
}

/// `template` with every placeholder replaced by its value in `vars`.
pub fn render(template: &str, vars: &Value, escape: Escape) -> Result<String, RenderError> {
    let mut out = String::with_capacity(template.len() + 64);
    let mut missing: Vec<String> = Vec::new();
    for piece in pieces(template)? {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Var(path) => match lookup(vars, path) {
                Some(v) => push_escaped(&mut out, &display(v), escape),
                None => {
                    if !missing.iter().any(|m| m == path) {
                        missing.push(path.to_owned());
                    }
                }
            },
        }
    }
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(RenderError::Missing(missing))
    }
}

enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

fn pieces(template: &str) -> Result<Vec<Piece<'_>>, RenderError> {
    let mut out = Vec::new();
    let mut rest = template;
    let mut offset = 0;
    while let Some(start) = rest.find("{{") {
        out.push(Piece::Text(&rest[..start]));
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or(RenderError::Unclosed(offset + start))?;
        let name = after[..end].trim();
        let valid = !name.is_empty()
            && name
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        if !valid {
            return Err(RenderError::Invalid(after[..end].to_owned()));
        }
        out.push(Piece::Var(name));
        let consumed = start + 2 + end + 2;
        offset += consumed;
        rest = &rest[consumed..];
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

fn lookup<'a>(vars: &'a Value, path: &str) -> Option<&'a Value> {
    let mut v = vars;
    for part in path.split('.') {
        v = match v {
            Value::Object(m) => m.get(part)?,
            Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    (!v.is_null()).then_some(v)
}

fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(display).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

fn push_escaped(out: &mut String, s: &str, escape: Escape) {
    for c in s.chars() {
        match (escape, c) {
            (Escape::Slack | Escape::Html, '&') => out.push_str("&amp;"),
            (Escape::Slack | Escape::Html, '<') => out.push_str("&lt;"),
            (Escape::Slack | Escape::Html, '>') => out.push_str("&gt;"),
            (Escape::Html, '"') => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn substitutes_paths_and_lists_every_missing_variable() {
        let vars = json!({"data": {"barcode": "TS-1", "lanes": [1, 2]}, "n": 3});
        assert_eq!(
            render(
                "Tube {{data.barcode}} ({{ n }}) lanes {{data.lanes}}",
                &vars,
                Escape::None
            )
            .unwrap(),
            "Tube TS-1 (3) lanes 1, 2"
        );
        assert_eq!(
            render("{{a}} {{data.x}} {{a}}", &vars, Escape::None),
            Err(RenderError::Missing(vec!["a".into(), "data.x".into()]))
        );
        assert_eq!(render("{{data.lanes.1}}", &vars, Escape::None).unwrap(), "2");
    }

    #[test]
    fn refuses_broken_placeholders_and_escapes_markup() {
        assert_eq!(render("x {{a", &json!({}), Escape::None), Err(RenderError::Unclosed(2)));
        assert!(matches!(
            render("{{a b}}", &json!({}), Escape::None),
            Err(RenderError::Invalid(_))
        ));
        assert!(matches!(
            render("{{}}", &json!({}), Escape::None),
            Err(RenderError::Invalid(_))
        ));
        let vars = json!({"v": "<b>&"});
        assert_eq!(render("{{v}}", &vars, Escape::Slack).unwrap(), "&lt;b&gt;&amp;");
        assert_eq!(render("{{v}}", &vars, Escape::None).unwrap(), "<b>&");
        assert_eq!(placeholders("{{a}} {{b.c}} {{a}}").unwrap(), vec!["a", "b.c"]);
    }
}
