//! Customers' language and opt-out, and the Africa's Talking opt-out and incoming-message
//! callbacks, through the router on the in-memory store.

use serde_json::{Value, json};

use crate::{Client, WEBHOOK_SECRET, assert_problem, client, create_customer, json_of};

async fn post_form(client: &Client, callback: &str, secret: &str, form: &str) -> poem::test::TestResponse {
    client
        .post(format!("/webhooks/africastalking/{callback}/{secret}"))
        .content_type("application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
}

async fn customer(client: &Client, id: &Value) -> Value {
    json_of(client.get(format!("/api/v1/customers/{}", id.as_str().unwrap())).send().await).await
}

#[tokio::test]
async fn language_and_opt_out_are_set_on_create_and_patch() {
    let client = client();
    let plain = create_customer(&client, "PLAIN").await;
    assert_eq!((plain["language"].clone(), plain["sms_opt_out"].clone()), (json!("en"), json!(false)));

    let body = json!({"name": "Amina", "code": "SW-1", "phone": "0712 345 678", "language": "sw", "sms_opt_out": true});
    let response = client.post("/api/v1/customers").body_json(&body).send().await;
    response.assert_status(poem::http::StatusCode::CREATED);
    let amina = json_of(response).await;
    assert_eq!((amina["language"].clone(), amina["sms_opt_out"].clone()), (json!("sw"), json!(true)));

    let url = format!("/api/v1/customers/{}", amina["id"].as_str().unwrap());
    let changed =
        json_of(client.patch(&url).body_json(&json!({"language": "en", "sms_opt_out": false})).send().await).await;
    assert_eq!((changed["language"].clone(), changed["sms_opt_out"].clone()), (json!("en"), json!(false)));

    for body in
        [json!({"language": "fr"}), json!({"language": "SW"}), json!({"language": null}), json!({"sms_opt_out": "yes"})]
    {
        let problem = assert_problem(client.patch(&url).body_json(&body).send().await, 422, "validation-error").await;
        let field = problem["errors"][0]["field"].as_str().unwrap();
        assert!(["language", "sms_opt_out"].contains(&field), "{body}: {problem}");
    }
    let bad = json!({"name": "X", "code": "FR-1", "phone": "0712 345 678", "language": "fr"});
    let problem =
        assert_problem(client.post("/api/v1/customers").body_json(&bad).send().await, 422, "validation-error").await;
    assert_eq!(problem["errors"][0]["field"], "language");
    assert_eq!(problem["errors"][0]["message"], "must be one of en, sw");
}

#[tokio::test]
async fn an_opt_out_callback_opts_out_every_customer_with_the_number_once() {
    let client = client();
    let (first, second) = (create_customer(&client, "A").await, create_customer(&client, "B").await);
    let form = "senderId=SHOP&phoneNumber=%2B254712345678";
    assert_problem(post_form(&client, "opt-outs", "wrong", form).await, 401, "unauthenticated").await;
    assert_eq!(customer(&client, &first["id"]).await["sms_opt_out"], false);

    let response = post_form(&client, "opt-outs", WEBHOOK_SECRET, form).await;
    response.assert_status_is_ok();
    response.assert_text("OK").await;
    for c in [&first, &second] {
        let stored = customer(&client, &c["id"]).await;
        assert_eq!(
            (stored["sms_opt_out"].clone(), stored["updated_by"].clone()),
            (json!(true), json!("africastalking"))
        );
    }
    let before = client.get(format!("/api/v1/customers/{}", first["id"].as_str().unwrap())).send().await;
    let etag = before.0.headers().get("etag").unwrap().clone();
    post_form(&client, "opt-outs", WEBHOOK_SECRET, &format!("{form}&unknownField=1")).await.assert_status_is_ok();
    let after = client.get(format!("/api/v1/customers/{}", first["id"].as_str().unwrap())).send().await;
    assert_eq!(after.0.headers().get("etag"), Some(&etag), "a repeated callback changes nothing");

    let problem = assert_problem(
        post_form(&client, "opt-outs", WEBHOOK_SECRET, "phoneNumber=hello").await,
        422,
        "validation-error",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "phoneNumber");
    post_form(&client, "opt-outs", WEBHOOK_SECRET, "phoneNumber=%2B254733000111").await.assert_status_is_ok();
}

#[tokio::test]
async fn incoming_messages_are_stored_once_and_a_stop_word_opts_out() {
    let client = client();
    let amina = create_customer(&client, "AMINA").await;
    let messages = format!("/api/v1/customers/{}/messages", amina["id"].as_str().unwrap());
    let hello = "id=ATXid_in_1&from=%2B254712345678&to=22384&text=Habari%0Anataka+unga&date=2026-11-30+09%3A30%3A12&networkCode=63902&cost=KES+0.00";
    post_form(&client, "incoming", WEBHOOK_SECRET, hello).await.assert_status_is_ok();
    assert_eq!(customer(&client, &amina["id"]).await["sms_opt_out"], false, "not a stop word");

    let stop = "id=ATXid_in_2&from=%2B254712345678&to=22384&text=+Sitisha%0A&linkId=L1";
    for _ in 0..2 {
        post_form(&client, "incoming", WEBHOOK_SECRET, stop).await.assert_status_is_ok();
    }
    assert_eq!(customer(&client, &amina["id"]).await["sms_opt_out"], true);

    let list = json_of(client.get(&messages).send().await).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "the repeat is stored once: {list}");
    assert_eq!((items[0]["text"].clone(), items[0]["stop_word"].clone()), (json!(" Sitisha\n"), json!(true)));
    assert_eq!(items[0]["link_id"], "L1");
    assert!(items[0].get("sent_at").is_none());
    assert_eq!(items[1]["from"], "+254712345678");
    assert_eq!(items[1]["to"], "22384");
    assert_eq!(items[1]["sent_at"], "2026-11-30T09:30:12+00:00");
    assert_eq!(items[1]["stop_word"], false);

    let page = json_of(client.get(format!("{messages}?limit=1")).send().await).await;
    let next = page["next_cursor"].as_str().unwrap();
    let rest = json_of(client.get(format!("{messages}?limit=1&cursor={next}")).send().await).await;
    assert_eq!(rest["items"][0]["id"], items[1]["id"]);
    assert!(rest.get("next_cursor").is_none());

    let unknown = format!("/api/v1/customers/{}/messages", uuid::Uuid::now_v7());
    assert_problem(client.get(&unknown).send().await, 404, "not-found").await;
    let forbidden = client.get(&messages).header("authorization", "Bearer only:read:orders").send().await;
    assert_problem(forbidden, 403, "insufficient-permission").await;
    let nul = "id=ATXid_in_3&from=%2B254712345678&to=22384&text=a%01b";
    let problem =
        assert_problem(post_form(&client, "incoming", WEBHOOK_SECRET, nul).await, 422, "validation-error").await;
    assert_eq!(problem["errors"][0]["field"], "text");
    assert_problem(post_form(&client, "incoming", "wrong", stop).await, 401, "unauthenticated").await;
}
