//! Field validation with DRF's rules and messages: `CharField` (required, null, blank,
//! "Not a valid string.", whitespace trimming, lengths, null characters), `EmailField`, and
//! Django's username validator. Errors accumulate per field in declaration order, as DRF does.

use serde_json::{Map, Value};

use crate::error::FieldErrors;

/// An extra validator: the message if `value` is refused.
pub type Validator<'a> = &'a dyn Fn(&str) -> Option<String>;

/// A DRF `CharField`.
#[derive(Debug, Clone, Copy)]
pub struct CharField {
    pub name: &'static str,
    /// DRF's `trim_whitespace` (on by default, also for simplejwt's password field).
    pub trim: bool,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
}

impl CharField {
    /// Required, trimmed, no length limits: DRF's defaults.
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            trim: true,
            min_length: None,
            max_length: None,
        }
    }

    pub const fn untrimmed(mut self) -> Self {
        self.trim = false;
        self
    }

    pub const fn lengths(mut self, min: Option<usize>, max: Option<usize>) -> Self {
        self.min_length = min;
        self.max_length = max;
        self
    }

    /// Converts and checks the field's value. On failure the messages go to `errors` and the
    /// result is None. `extra` validators run first (as DRF runs explicit `validators=`
    /// before the length and null-character ones).
    pub fn read(
        &self,
        data: &Map<String, Value>,
        errors: &mut FieldErrors,
        extra: &[Validator<'_>],
    ) -> Option<String> {
        let text = match data.get(self.name) {
            None => return fail(errors, self.name, "This field is required."),
            Some(Value::Null) => return fail(errors, self.name, "This field may not be null."),
            Some(Value::String(text)) => text.clone(),
            Some(Value::Number(number)) => number.to_string(),
            Some(_) => return fail(errors, self.name, "Not a valid string."),
        };
        let text = if self.trim {
            text.trim().to_owned()
        } else {
            text
        };
        if text.is_empty() {
            return fail(errors, self.name, "This field may not be blank.");
        }
        let mut messages: Vec<String> = extra.iter().filter_map(|check| check(&text)).collect();
        let length = text.chars().count();
        if let Some(max) = self.max_length.filter(|max| length > *max) {
            messages.push(format!(
                "Ensure this field has no more than {max} characters."
            ));
        }
        if let Some(min) = self.min_length.filter(|min| length < *min) {
            messages.push(format!("Ensure this field has at least {min} characters."));
        }
        if text.contains('\0') {
            messages.push("Null characters are not allowed.".to_owned());
        }
        if messages.is_empty() {
            Some(text)
        } else {
            for message in messages {
                errors.add(self.name, message);
            }
            None
        }
    }
}

fn fail(errors: &mut FieldErrors, field: &str, message: &str) -> Option<String> {
    errors.add(field, message);
    None
}

/// Django's `UnicodeUsernameValidator`: letters, digits and `@.+-_`.
pub fn username_chars(value: &str) -> Option<String> {
    let ok = value
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '@' | '.' | '+' | '-'));
    (!ok).then(|| {
        "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."
            .to_owned()
    })
}

/// Django's `EmailValidator` (dot-atom local part; hostname, `localhost` or IP-literal domain).
pub fn email(value: &str) -> Option<String> {
    (!is_valid_email(value)).then(|| "Enter a valid email address.".to_owned())
}

fn is_valid_email(value: &str) -> bool {
    if value.chars().count() > 320 {
        return false;
    }
    let Some((user, domain)) = value.rsplit_once('@') else {
        return false;
    };
    let atom_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{}|~-".contains(c);
    let user_ok = !user.is_empty()
        && user
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(atom_char));
    if !user_ok {
        return false;
    }
    if domain.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Some(literal) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        return literal.parse::<std::net::IpAddr>().is_ok();
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let Some((tld, hosts)) = labels.split_last() else {
        return false;
    };
    let label_char = |c: char| c.is_alphanumeric() || c == '-';
    let host_ok = |label: &&str| {
        (1..=63).contains(&label.chars().count())
            && label.chars().all(label_char)
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    !hosts.is_empty()
        && hosts.iter().all(host_ok)
        && (2..=63).contains(&tld.chars().count())
        && tld.chars().all(label_char)
        && !tld.ends_with('-')
}

/// Django's `normalize_email`: the domain part lower-cased.
pub fn normalize_email(value: &str) -> String {
    match value.rsplit_once('@') {
        Some((user, domain)) => format!("{user}@{}", domain.to_lowercase()),
        None => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(field: CharField, data: Value) -> (Option<String>, Value) {
        let mut errors = FieldErrors::default();
        let map = data.as_object().unwrap().clone();
        let value = field.read(&map, &mut errors, &[]);
        (value, errors.to_json())
    }

    #[test]
    fn char_field_messages_are_drfs() {
        let f = CharField::new("password");
        assert_eq!(
            read(f, json!({})).1,
            json!({"password": ["This field is required."]})
        );
        assert_eq!(
            read(f, json!({"password": null})).1,
            json!({"password": ["This field may not be null."]})
        );
        assert_eq!(
            read(f, json!({"password": "   "})).1,
            json!({"password": ["This field may not be blank."]})
        );
        assert_eq!(
            read(f, json!({"password": true})).1,
            json!({"password": ["Not a valid string."]})
        );
        assert_eq!(
            read(f, json!({"password": {}})).1,
            json!({"password": ["Not a valid string."]})
        );
        assert_eq!(read(f, json!({"password": 5})).0.as_deref(), Some("5"));
        assert_eq!(
            read(f, json!({"password": " pw "})).0.as_deref(),
            Some("pw")
        );
        assert_eq!(
            read(f.untrimmed(), json!({"password": " pw "}))
                .0
                .as_deref(),
            Some(" pw ")
        );
        assert_eq!(
            read(f, json!({"password": "a\u{0}b"})).1,
            json!({"password": ["Null characters are not allowed."]})
        );
    }

    #[test]
    fn lengths_count_characters() {
        let f = CharField::new("p").lengths(Some(3), Some(4));
        assert_eq!(
            read(f, json!({"p": "ab"})).1,
            json!({"p": ["Ensure this field has at least 3 characters."]})
        );
        assert_eq!(
            read(f, json!({"p": "abcde"})).1,
            json!({"p": ["Ensure this field has no more than 4 characters."]})
        );
        assert_eq!(read(f, json!({"p": "äöü"})).0.as_deref(), Some("äöü"));
    }

    #[test]
    fn usernames_and_emails_follow_django() {
        assert!(username_chars("a.b@c+d-e_f9").is_none());
        assert!(username_chars("bad name!").is_some());
        assert!(username_chars("jörg").is_none());
        for good in [
            "a@b.io",
            "first.last+tag@example.co.uk",
            "x@localhost",
            "a@[127.0.0.1]",
        ] {
            assert!(email(good).is_none(), "{good}");
        }
        for bad in [
            "bad",
            "a@",
            "@b.io",
            "a@b",
            "a..b@c.io",
            "a@-b.io",
            "a@b.c",
            "a b@c.io",
        ] {
            assert!(email(bad).is_some(), "{bad}");
        }
        assert_eq!(normalize_email("Alice@Example.COM"), "Alice@example.com");
    }
}
