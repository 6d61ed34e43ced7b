//! The pretty-printer's unit tests: agreement with serde_json, non-JSON shown as received,
//! bounded time and output on huge and deep bodies, redaction and cutting for display.

use super::*;

use serde_json::json;

fn serde_pretty(text: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(text).unwrap();
    serde_json::to_string_pretty(&value).unwrap()
}

#[test]
fn matches_serde_json_on_ordinary_bodies() {
    let samples = [
        json!({"message": "Hello, World!"}).to_string(),
        json!({"a": [1, 2, {"b": null, "c": [true, false]}], "d": {}, "e": [], "f": [[]], "g": {"h": {}}}).to_string(),
        json!([{"id": 1, "name": "é \" \\ \n", "tags": ["x", "y"]}, -0.5, 12e-3, 0]).to_string(),
        r#"  { "a_spaced" :  [ 1 ,2 ] , "b_deep": {"x": {"y": {"z": [ ] } } } }  "#.to_owned(),
        "\"just a string\"".to_owned(),
        "42".to_owned(),
        "[]".to_owned(),
        r#"{"count":3,"next":null,"results":[{"id":1},{"id":2},{"id":3}]}"#.to_owned(),
    ];
    for sample in &samples {
        let ours = format(sample.as_bytes(), &LIMITS);
        assert!(ours.indented, "{sample}");
        assert_eq!(ours.note, None);
        // Numbers and escapes are copied as sent, and keys keep their order (serde_json's
        // Value sorts them): these samples use serde's forms and sorted keys.
        let expected = if sample.contains("12e-3") {
            serde_pretty(sample).replace("0.012", "12e-3")
        } else {
            serde_pretty(sample)
        };
        assert_eq!(ours.text, expected, "{sample}");
    }
}

#[test]
fn anything_else_is_shown_as_received() {
    for text in [
        "",
        "not json",
        "{",
        "{\"a\" 1}",
        "[1,]",
        "{\"a\":1,}",
        "[1 2]",
        "{1: 2}",
        "01",
        "1.",
        "-",
        "tru",
        "[}",
        "{]",
        "\"a\" \"b\"",
        "\"\u{1}\"",
        "\"\\x\"",
        "[1]]",
    ] {
        let shown = format(text.as_bytes(), &LIMITS);
        assert!(!shown.indented, "{text:?} was taken for JSON");
        assert_eq!(shown.text, text);
        assert_eq!(shown.note, None);
        assert!(
            serde_json::from_str::<serde_json::Value>(text).is_err(),
            "{text:?}"
        );
    }
    let shown = format(b"{\"a\": \"\xff\"}", &LIMITS);
    assert!(!shown.indented);
}

/// `depth` levels of `{"k": [ ... ]}` around a payload, padded with siblings to `size` bytes.
fn deep_body(depth: usize, size: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(size + 64);
    for _ in 0..depth / 2 {
        body.extend_from_slice(b"{\"k\":[");
    }
    while body.len() < size {
        body.extend_from_slice(b"{\"id\":12345,\"name\":\"abcdefghij\"},");
    }
    body.extend_from_slice(b"0");
    for _ in 0..depth / 2 {
        body.extend_from_slice(b"]}");
    }
    body
}

#[test]
fn a_huge_deep_body_stays_bounded() {
    let body = deep_body(120, 16 * 1024 * 1024);
    assert!(body.len() >= 16 * 1024 * 1024);
    let started = std::time::Instant::now();
    let shown = format(&body, &LIMITS);
    assert!(!shown.indented);
    assert!(shown.text.len() <= body.len() + 1024);
    assert!(shown.note.as_deref().unwrap().contains("larger than 4 MiB"));
    // Under the input limit, the depth limit speaks.
    let body = deep_body(120, 3 * 1024 * 1024);
    let shown = format(&body, &LIMITS);
    assert!(!shown.indented);
    assert!(shown.text.len() <= 2 * body.len());
    assert!(shown.note.as_deref().unwrap().contains("deeper than 64"));
    // Within both, the indented form grows linearly (here about 3x, with 10 levels).
    let body = deep_body(10, 1024 * 1024);
    let shown = format(&body, &LIMITS);
    assert!(shown.indented, "{:?}", shown.note);
    assert!(shown.text.len() <= 4 * body.len(), "{}", shown.text.len());
    // Deep indentation multiplies: the output limit bounds it.
    let shown = format(&deep_body(60, 3 * 1024 * 1024), &LIMITS);
    assert!(shown.text.len() <= LIMITS.max_output + 1024);
    // And the whole display path (redaction, cap) follows.
    let display = for_display(&deep_body(120, 16 * 1024 * 1024), true, CONSOLE_MAX_BYTES);
    assert!(display.truncated && display.text.len() <= CONSOLE_MAX_BYTES);
    assert!(display.note.is_some());
    // Generous: linear work on ~40 MB, even unoptimised on a loaded machine.
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

#[test]
fn wide_shallow_bodies_hit_the_output_limit() {
    let mut body = vec![b'['; 60];
    for _ in 0..200_000 {
        body.extend_from_slice(b"1,");
    }
    body.push(b'1');
    body.extend_from_slice(&[b']'; 60]);
    let limits = Limits {
        max_output: 4 * 1024 * 1024,
        ..LIMITS
    };
    let shown = format(&body, &limits);
    assert!(!shown.indented);
    assert!(shown.note.unwrap().contains("would be larger"));
}

#[test]
fn display_redacts_and_cuts_at_a_character() {
    let token = crate::test_tokens::jwt(r#"{"alg":"HS256"}"#, r#"{"sub":"1"}"#, "c2ln");
    let body = json!({"access": token, "name": "ééé"}).to_string();
    let display = for_display(body.as_bytes(), true, 10_000);
    assert!(!display.text.contains("eyJ") && display.text.contains(redact::REDACTED));
    assert!(!display.truncated);
    let display = for_display("ééé".as_bytes(), false, 3);
    assert_eq!(display.text, "é");
    assert!(display.truncated);
}
