//! The access token, masked wherever a server echoes it back. A debug view or an echo service
//! (httpbin's `/headers`, a view that returns `request.META`) answers with the request's own
//! `Authorization` header — and the answer goes to a terminal, the app's window, or a tool
//! through the local proxy, none of which may ever see a token. Every answer of the request
//! path has each occurrence of the token it was sent with replaced by as many `*`, in its
//! headers and its body — streamed bodies too, across chunk boundaries — so lengths stay true.

use bytes::{Bytes, BytesMut};
use memchr::memmem;
use reqwest::header::{HeaderMap, HeaderValue};

use crate::secret::AuthHeader;

/// Masks one token in an answer.
pub(crate) struct EchoMask {
    /// The token's searcher, built once per answer, not per chunk (it preprocesses the token).
    /// Its copy of the token is not wiped on drop; the engine's own copies are.
    finder: memmem::Finder<'static>,
    /// The last `token.len() - 1` bytes seen, held back: the start of an occurrence that the
    /// next chunk completes.
    carry: BytesMut,
}

impl EchoMask {
    /// The mask for the token in `auth` (`<scheme> <token>`); `None` when there is none.
    pub(crate) fn new(auth: &AuthHeader) -> Option<Self> {
        let value = auth.value().ok()?;
        let bytes = value.as_bytes();
        let at = bytes.iter().position(|b| *b == b' ')?;
        let token = &bytes[at + 1..];
        // A token shorter than this is no JWT; masking it would garble ordinary text.
        (token.len() >= 16).then(|| Self {
            finder: memmem::Finder::new(token).into_owned(),
            carry: BytesMut::new(),
        })
    }

    fn mask_in_place(&self, data: &mut [u8]) -> bool {
        let starts: Vec<usize> = self.finder.find_iter(data).collect();
        for start in &starts {
            data[*start..*start + self.finder.needle().len()].fill(b'*');
        }
        !starts.is_empty()
    }

    /// Headers with the token masked (a header that held it is rebuilt, marked sensitive).
    pub(crate) fn headers(&self, headers: &mut HeaderMap) {
        for value in headers.values_mut() {
            if self.finder.find(value.as_bytes()).is_none() {
                continue;
            }
            let mut bytes = value.as_bytes().to_vec();
            self.mask_in_place(&mut bytes);
            if let Ok(mut masked) = HeaderValue::from_bytes(&bytes) {
                masked.set_sensitive(true);
                *value = masked;
            }
        }
    }

    /// A whole body with the token masked (copied only when it holds the token).
    pub(crate) fn whole(&self, body: Bytes) -> Bytes {
        if self.finder.find(&body).is_none() {
            return body;
        }
        let mut bytes = body.to_vec();
        self.mask_in_place(&mut bytes);
        Bytes::from(bytes)
    }

    /// The next chunk of a streamed body: what can be passed on now (the tail that may begin
    /// an occurrence is held back for the next chunk or [`EchoMask::finish`]).
    pub(crate) fn chunk(&mut self, chunk: &[u8]) -> Bytes {
        self.carry.extend_from_slice(chunk);
        let mut data = std::mem::take(&mut self.carry);
        self.mask_in_place(&mut data);
        let keep = (self.finder.needle().len() - 1).min(data.len());
        self.carry = data.split_off(data.len() - keep);
        data.freeze()
    }

    /// The held-back tail at the end of the body.
    pub(crate) fn finish(&mut self) -> Bytes {
        std::mem::take(&mut self.carry).freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::AccessToken;

    fn mask(token: &str) -> EchoMask {
        EchoMask::new(&AuthHeader::new(
            "Bearer",
            &AccessToken::new(token.to_owned()),
        ))
        .unwrap()
    }

    #[test]
    fn a_whole_body_and_headers_lose_the_token_and_keep_their_length() {
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln";
        let m = mask(token);
        let body = format!(r#"{{"authorization":"Bearer {token}","again":"{token}"}}"#);
        let masked = m.whole(Bytes::from(body.clone()));
        assert_eq!(masked.len(), body.len());
        let text = String::from_utf8(masked.to_vec()).unwrap();
        assert!(!text.contains("eyJ"), "{text}");
        assert!(text.contains(&"*".repeat(token.len())));
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-echo",
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        m.headers(&mut headers);
        assert!(!headers["x-echo"].to_str().unwrap().contains("eyJ"));
        let plain = Bytes::from_static(b"nothing to hide");
        assert_eq!(m.whole(plain.clone()), plain);
    }

    #[test]
    fn a_token_split_across_chunks_is_masked_at_every_split() {
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln";
        let body = format!("<<{token}>> and {token}");
        for size in 1..=body.len() {
            let mut m = mask(token);
            let mut out = Vec::new();
            for piece in body.as_bytes().chunks(size) {
                out.extend_from_slice(&m.chunk(piece));
            }
            out.extend_from_slice(&m.finish());
            let text = String::from_utf8(out).unwrap();
            assert_eq!(text.len(), body.len(), "chunks of {size}");
            assert!(!text.contains("eyJ"), "chunks of {size}: {text}");
            assert!(text.starts_with("<<*") && text.ends_with('*'), "{text}");
        }
    }
}
