//! The pages' one way to read a posted form: the [`Form`] extractor.

use poem::http::StatusCode;
use poem::{FromRequest, Request, RequestBody};

use super::message;

/// A posted form (`application/x-www-form-urlencoded`): its fields in order, repeated names
/// (checkboxes) kept. A body that cannot be read is refused with a 400 page, never taken as
/// an empty form.
#[derive(Debug, Default)]
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    /// Reads `bytes` as a form.
    pub(crate) fn parse(bytes: &[u8]) -> Self {
        Self(form_urlencoded::parse(bytes).into_owned().collect())
    }

    /// The fields, in order.
    pub(crate) fn into_fields(self) -> Vec<(String, String)> {
        self.0
    }
}

impl<'a> FromRequest<'a> for Form {
    async fn from_request(_req: &'a Request, body: &mut RequestBody) -> poem::Result<Self> {
        let unreadable = || {
            poem::Error::from_response(message(
                StatusCode::BAD_REQUEST,
                "Form not read",
                "The form could not be read; please try again.",
            ))
        };
        let bytes = body.take().map_err(|_| unreadable())?.into_vec().await.map_err(|_| unreadable())?;
        Ok(Self::parse(&bytes))
    }
}

#[cfg(test)]
mod tests {
    use poem::Body;

    use super::*;

    #[tokio::test]
    async fn a_form_keeps_repeated_fields_and_an_unreadable_body_is_a_400() {
        let request = Request::builder().body(Body::from_bytes(bytes::Bytes::from_static(b"a=1&p=x&p=y")));
        let (request, mut body) = request.split();
        let form = Form::from_request(&request, &mut body).await.expect("read");
        assert_eq!(form.into_fields().len(), 3);
        let failing = futures_util::stream::once(async { Err::<bytes::Bytes, _>(std::io::Error::other("cut")) });
        let request = Request::builder().body(Body::from_bytes_stream(failing));
        let (request, mut body) = request.split();
        let refused = Form::from_request(&request, &mut body).await.expect_err("refused");
        assert_eq!(refused.into_response().status(), StatusCode::BAD_REQUEST);
    }
}
