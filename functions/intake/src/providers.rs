//! Extraction providers behind one trait. `offline` is the default and needs nothing;
//! `anthropic` and `openai` are called over HTTPS with the lab's key (from SSM, never
//! logged), `bedrock` through the AWS SDK's Converse API. Each is made to answer by
//! calling one tool whose input schema is the field catalogue
//! ([`crate::domain::llm::tool_schema`]); its answer is validated, and an answer that
//! fails (or a provider that fails) leaves the offline extraction in place, saying why.

use crate::domain::Prepared;
use crate::domain::extraction::Extraction;
use crate::domain::llm::{self, SYSTEM, TOOL};
use futures::future::BoxFuture;
use serde_json::{Value, json};
use std::time::Duration;
use tracseq_core::named_enum;

named_enum!(
    /// Who extracts a lab's documents.
    ProviderKind as "IntakeProvider" {
        Offline => "offline",
        Anthropic => "anthropic",
        OpenAi => "openai",
        Bedrock => "bedrock",
    }
);

impl ProviderKind {
    /// The model used when the lab names none.
    pub fn default_model(self) -> &'static str {
        match self {
            ProviderKind::Offline => "rules",
            ProviderKind::Anthropic => "claude-sonnet-4-5",
            ProviderKind::OpenAi => "gpt-4.1",
            ProviderKind::Bedrock => "anthropic.claude-3-5-sonnet-20240620-v1:0",
        }
    }

    /// Whether the provider needs a key of the lab's own.
    pub fn needs_key(self) -> bool {
        matches!(self, ProviderKind::Anthropic | ProviderKind::OpenAi)
    }
}

/// Why a provider gave no usable answer (its text is shown as the document's fallback).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderError(pub String);

impl std::fmt::Display for ProviderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One model behind one interface: given a system text, a user text and a tool's input
/// schema, the input the model called the tool with.
pub trait Provider: Send + Sync {
    fn kind(&self) -> ProviderKind;
    fn call<'a>(
        &'a self,
        system: &'a str,
        user: &'a str,
        tool: &'a str,
        schema: &'a Value,
    ) -> BoxFuture<'a, Result<Value, ProviderError>>;
}

const TIMEOUT: Duration = Duration::from_secs(50);
const MAX_TOKENS: u32 = 8192;

fn http() -> Result<reqwest::Client, ProviderError> {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| ProviderError(format!("no HTTP client: {e}")))
}

/// The status and body of an answer; the key is never part of an error.
async fn post(req: reqwest::RequestBuilder, who: &str) -> Result<Value, ProviderError> {
    let res = req
        .send()
        .await
        .map_err(|e| ProviderError(format!("{who} did not answer ({})", e.without_url())))?;
    let status = res.status();
    let body: Value = res
        .json()
        .await
        .map_err(|_| ProviderError(format!("{who} answered {status} with a body that is not JSON")))?;
    if !status.is_success() {
        let why = body["error"]["message"]
            .as_str()
            .or(body["message"].as_str())
            .unwrap_or("no reason given");
        return Err(ProviderError(format!(
            "{who} answered {status}: {}",
            why.chars().take(200).collect::<String>()
        )));
    }
    Ok(body)
}

/// Anthropic's Messages API with a forced tool call.
pub struct Anthropic {
    pub base_url: String,
    pub model: String,
    pub api_key: String,
}

impl Anthropic {
    pub fn request(&self, system: &str, user: &str, tool: &str, schema: &Value) -> Value {
        json!({
            "model": self.model,
            "max_tokens": MAX_TOKENS,
            "system": system,
            "messages": [{"role": "user", "content": user}],
            "tools": [{"name": tool, "description": "Answer from the passages.", "input_schema": schema}],
            "tool_choice": {"type": "tool", "name": tool}
        })
    }

    pub fn tool_input(answer: &Value, tool: &str) -> Result<Value, ProviderError> {
        answer["content"]
            .as_array()
            .and_then(|c| c.iter().find(|b| b["type"] == "tool_use" && b["name"] == tool))
            .map(|b| b["input"].clone())
            .ok_or_else(|| ProviderError("anthropic answered without calling the tool".into()))
    }
}

impl Provider for Anthropic {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Anthropic
    }

    fn call<'a>(
        &'a self,
        system: &'a str,
        user: &'a str,
        tool: &'a str,
        schema: &'a Value,
    ) -> BoxFuture<'a, Result<Value, ProviderError>> {
        Box::pin(async move {
            let req = http()?
                .post(format!("{}/v1/messages", self.base_url.trim_end_matches('/')))
                .header("x-api-key", &self.api_key)
                .header("anthropic-version", "2023-06-01")
                .json(&self.request(system, user, tool, schema));
            Self::tool_input(&post(req, "anthropic").await?, tool)
        })
    }
}

/// OpenAI's Chat Completions API with a forced function call.
pub struct OpenAi {
    pub base_url: String,
    pub model: String,
    pub api_key: String,
}

impl OpenAi {
    pub fn request(&self, system: &str, user: &str, tool: &str, schema: &Value) -> Value {
        json!({
            "model": self.model,
            "max_completion_tokens": MAX_TOKENS,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "tools": [{"type": "function", "function": {"name": tool, "description": "Answer from the passages.", "parameters": schema}}],
            "tool_choice": {"type": "function", "function": {"name": tool}}
        })
    }

    pub fn tool_input(answer: &Value, tool: &str) -> Result<Value, ProviderError> {
        let args = answer["choices"][0]["message"]["tool_calls"]
            .as_array()
            .and_then(|c| c.iter().find(|t| t["function"]["name"] == tool))
            .and_then(|t| t["function"]["arguments"].as_str())
            .ok_or_else(|| ProviderError("openai answered without calling the function".into()))?;
        serde_json::from_str(args).map_err(|_| ProviderError("openai's function arguments are not JSON".into()))
    }
}

impl Provider for OpenAi {
    fn kind(&self) -> ProviderKind {
        ProviderKind::OpenAi
    }

    fn call<'a>(
        &'a self,
        system: &'a str,
        user: &'a str,
        tool: &'a str,
        schema: &'a Value,
    ) -> BoxFuture<'a, Result<Value, ProviderError>> {
        Box::pin(async move {
            let req = http()?
                .post(format!("{}/v1/chat/completions", self.base_url.trim_end_matches('/')))
                .bearer_auth(&self.api_key)
                .json(&self.request(system, user, tool, schema));
            Self::tool_input(&post(req, "openai").await?, tool)
        })
    }
}

/// Amazon Bedrock's Converse API through the AWS SDK, the tool as its `toolConfig`.
pub struct Bedrock {
    pub client: aws_sdk_bedrockruntime::Client,
    pub model: String,
}

/// JSON as the SDK's document type, and back.
fn to_document(v: &Value) -> aws_smithy_types::Document {
    use aws_smithy_types::{Document, Number};
    match v {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => Document::Number(Number::PosInt(u)),
            (_, Some(i), _) => Document::Number(Number::NegInt(i)),
            (_, _, f) => Document::Number(Number::Float(f.unwrap_or_default())),
        },
        Value::String(s) => Document::String(s.clone()),
        Value::Array(a) => Document::Array(a.iter().map(to_document).collect()),
        Value::Object(o) => Document::Object(o.iter().map(|(k, v)| (k.clone(), to_document(v))).collect()),
    }
}

fn from_document(d: &aws_smithy_types::Document) -> Value {
    use aws_smithy_types::{Document, Number};
    match d {
        Document::Null => Value::Null,
        Document::Bool(b) => json!(b),
        Document::Number(Number::PosInt(u)) => json!(u),
        Document::Number(Number::NegInt(i)) => json!(i),
        Document::Number(Number::Float(f)) => json!(f),
        Document::String(s) => json!(s),
        Document::Array(a) => Value::Array(a.iter().map(from_document).collect()),
        Document::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), from_document(v))).collect()),
    }
}

impl Provider for Bedrock {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Bedrock
    }

    fn call<'a>(
        &'a self,
        system: &'a str,
        user: &'a str,
        tool: &'a str,
        schema: &'a Value,
    ) -> BoxFuture<'a, Result<Value, ProviderError>> {
        use aws_sdk_bedrockruntime::types::{
            ContentBlock, ConversationRole, InferenceConfiguration, Message, SpecificToolChoice, SystemContentBlock,
            Tool, ToolChoice, ToolConfiguration, ToolInputSchema, ToolSpecification,
        };
        Box::pin(async move {
            let bad = |e: String| ProviderError(format!("bedrock request: {e}"));
            let spec = ToolSpecification::builder()
                .name(tool)
                .description("Answer from the passages.")
                .input_schema(ToolInputSchema::Json(to_document(schema)))
                .build()
                .map_err(|e| bad(e.to_string()))?;
            let tools = ToolConfiguration::builder()
                .tools(Tool::ToolSpec(spec))
                .tool_choice(ToolChoice::Tool(
                    SpecificToolChoice::builder()
                        .name(tool)
                        .build()
                        .map_err(|e| bad(e.to_string()))?,
                ))
                .build()
                .map_err(|e| bad(e.to_string()))?;
            let message = Message::builder()
                .role(ConversationRole::User)
                .content(ContentBlock::Text(user.to_owned()))
                .build()
                .map_err(|e| bad(e.to_string()))?;
            let out = self
                .client
                .converse()
                .model_id(&self.model)
                .system(SystemContentBlock::Text(system.to_owned()))
                .messages(message)
                .tool_config(tools)
                .inference_config(InferenceConfiguration::builder().max_tokens(MAX_TOKENS as i32).build())
                .send()
                .await
                .map_err(|e| {
                    ProviderError(format!(
                        "bedrock did not answer ({})",
                        aws_sdk_bedrockruntime::error::DisplayErrorContext(&e)
                    ))
                })?;
            let content = out
                .output()
                .and_then(|o| o.as_message().ok())
                .map(|m| m.content().to_vec())
                .unwrap_or_default();
            content
                .iter()
                .find_map(|b| {
                    b.as_tool_use()
                        .ok()
                        .filter(|t| t.name() == tool)
                        .map(|t| from_document(t.input()))
                })
                .ok_or_else(|| ProviderError("bedrock answered without calling the tool".into()))
        })
    }
}

/// The lab's provider, or why it cannot be used (then offline answers).
pub async fn for_lab(
    st: &crate::state::IntakeState,
    lab: &str,
    s: &crate::model::IntakeSettings,
) -> Result<Option<Box<dyn Provider>>, String> {
    use crate::store;
    let model = s.model.clone().unwrap_or_else(|| s.provider.default_model().to_owned());
    let key = if s.provider.needs_key() {
        match store::get_key(st, &store::key_parameter(st, lab, s.provider)).await {
            Ok(Some(k)) => k,
            Ok(None) => return Err(format!("no API key is stored for {}", s.provider.as_str())),
            Err(_) => return Err("the key store is unavailable".into()),
        }
    } else {
        String::new()
    };
    Ok(match s.provider {
        ProviderKind::Offline => None,
        ProviderKind::Anthropic => Some(Box::new(Anthropic {
            base_url: st.anthropic_url.clone(),
            model,
            api_key: key,
        })),
        ProviderKind::OpenAi => Some(Box::new(OpenAi {
            base_url: st.openai_url.clone(),
            model,
            api_key: key,
        })),
        ProviderKind::Bedrock => Some(Box::new(Bedrock {
            client: st.bedrock.clone(),
            model,
        })),
    })
}

/// An answer to a question about one document: prose from an LLM grounded in the lines
/// it cites, or the offline provider's quotes.
pub struct Answered {
    pub answer: String,
    /// Indices into the document's lines.
    pub lines: Vec<usize>,
    pub provider: ProviderKind,
    pub fallback: Option<String>,
}

/// Lines handed to a provider for a question.
const ASK_LINES: usize = 8;
/// Lines the offline answer quotes.
const QUOTED_LINES: usize = 3;

/// Answer `question` from the document's best lines: the lab's provider in prose (its
/// cited lines checked), or the best lines quoted.
pub async fn ask(doc: &Prepared, question: &str, provider: Option<&dyn Provider>) -> Answered {
    let quote = |fallback: Option<String>| {
        let lines = doc.answer_lines(question, QUOTED_LINES);
        let answer = if lines.is_empty() {
            "The document does not say.".to_owned()
        } else {
            lines
                .iter()
                .map(|i| doc.lines[*i].text.trim())
                .collect::<Vec<_>>()
                .join("\n…\n")
        };
        Answered {
            answer,
            lines,
            provider: ProviderKind::Offline,
            fallback,
        }
    };
    let Some(p) = provider else { return quote(None) };
    let sent = doc.answer_lines(question, ASK_LINES);
    if sent.is_empty() {
        return quote(None);
    }
    let prompt = llm::ask_prompt(
        question,
        &sent
            .iter()
            .map(|i| (*i, doc.lines[*i].text.as_str()))
            .collect::<Vec<_>>(),
    );
    match p
        .call(llm::ASK_SYSTEM, &prompt, llm::ANSWER_TOOL, &llm::answer_schema())
        .await
    {
        Ok(a) => match llm::validate_answer(&a, &sent) {
            Ok((answer, lines)) => Answered {
                answer,
                lines,
                provider: p.kind(),
                fallback: None,
            },
            Err(why) => quote(Some(format!("{} answered, but not usably: {why}", p.kind().as_str()))),
        },
        Err(e) => quote(Some(e.0)),
    }
}

/// What extraction produced, by whom, and why the lab's provider was not used if not.
pub struct Outcome {
    pub extraction: Extraction,
    pub provider: ProviderKind,
    pub fallback: Option<String>,
}

/// Extract with `provider` over the retrieved passages; the offline extractor when there
/// is none, or when it fails or answers something that does not validate.
pub async fn extract(doc: &Prepared, provider: Option<&dyn Provider>) -> Outcome {
    let offline = |fallback: Option<String>| Outcome {
        extraction: doc.extract_offline(),
        provider: ProviderKind::Offline,
        fallback,
    };
    let Some(p) = provider else { return offline(None) };
    let sent = llm::passages(doc);
    let schema = llm::tool_schema();
    let answer = match p.call(SYSTEM, &llm::prompt(&sent), TOOL, &schema).await {
        Ok(a) => a,
        Err(e) => return offline(Some(e.0)),
    };
    match llm::validate(doc, &sent, &answer) {
        Ok(x) => Outcome {
            extraction: x,
            provider: p.kind(),
            fallback: None,
        },
        Err(why) => offline(Some(format!("{} answered, but not usably: {why}", p.kind().as_str()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::chunk::Text;
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use std::sync::{Arc, Mutex};

    /// What the recorded-answer server saw: method, path, headers, body.
    #[derive(Debug, Default, Clone)]
    struct Seen {
        path: String,
        headers: Vec<(String, String)>,
        body: Value,
    }

    /// A local HTTP server that answers every request with a recorded answer.
    async fn recorded(status: u16, answer: String) -> (String, Arc<Mutex<Vec<Seen>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (log, answer) = (log.clone(), answer.clone());
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (log, answer) = (log.clone(), answer.clone());
                        async move {
                            let path = req.uri().path().to_owned();
                            let headers = req
                                .headers()
                                .iter()
                                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
                                .collect();
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                            log.lock().unwrap().push(Seen { path, headers, body });
                            Ok::<_, std::convert::Infallible>(
                                hyper::Response::builder()
                                    .status(status)
                                    .header("content-type", "application/json")
                                    .body(Full::new(Bytes::from(answer)))
                                    .unwrap(),
                            )
                        }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, svc)
                        .await;
                });
            }
        });
        (url, seen)
    }

    fn recording(name: &str) -> String {
        std::fs::read_to_string(format!("{}/tests/recorded/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    fn anthropic(base_url: String, api_key: &str) -> Anthropic {
        Anthropic {
            base_url,
            model: "claude-sonnet-4-5".into(),
            api_key: api_key.into(),
        }
    }

    fn openai(base_url: String) -> OpenAi {
        OpenAi {
            base_url,
            model: "gpt-4.1".into(),
            api_key: "sk-test".into(),
        }
    }

    fn short_form() -> Prepared {
        Prepared::new(&Text::single(
            "ADMINISTRATIVE INFORMATION\nSubmitter: Jane Roe\nEmail: jane.roe@lab.example.org\nInstitution: Example Institute\n\nSAMPLES\nSample 1:\n- Sample ID: EX-1\n- Sample Type: Genomic DNA\n",
        ))
    }

    #[tokio::test]
    async fn anthropic_is_called_with_the_tool_and_its_answer_is_used() {
        let (url, seen) = recorded(200, recording("anthropic_tool_use.json")).await;
        let p = anthropic(url, "sk-ant-test");
        let out = extract(&short_form(), Some(&p)).await;
        assert_eq!((out.provider, out.fallback.as_deref()), (ProviderKind::Anthropic, None));
        assert_eq!(out.extraction.text("submitter_email"), Some("jane.roe@lab.example.org"));
        assert_eq!(out.extraction.samples.len(), 1);
        let s = seen.lock().unwrap()[0].clone();
        assert_eq!(s.path, "/v1/messages");
        assert!(s.headers.contains(&("x-api-key".into(), "sk-ant-test".into())));
        assert!(s.headers.contains(&("anthropic-version".into(), "2023-06-01".into())));
        assert_eq!(s.body["tool_choice"], json!({"type": "tool", "name": TOOL}));
        assert!(s.body["tools"][0]["input_schema"]["properties"]["fields"].is_object());
        assert!(
            s.body["messages"][0]["content"]
                .as_str()
                .unwrap()
                .contains("[passage 0 | page 1]")
        );
    }

    #[tokio::test]
    async fn openai_is_called_with_the_function_and_its_arguments_are_used() {
        let (url, seen) = recorded(200, recording("openai_tool_call.json")).await;
        let p = openai(url);
        let out = extract(&short_form(), Some(&p)).await;
        assert_eq!((out.provider, out.fallback.as_deref()), (ProviderKind::OpenAi, None));
        assert_eq!(out.extraction.text("institution"), Some("Example Institute"));
        let s = seen.lock().unwrap()[0].clone();
        assert_eq!(s.path, "/v1/chat/completions");
        assert!(s.headers.contains(&("authorization".into(), "Bearer sk-test".into())));
        assert_eq!(s.body["tool_choice"]["function"]["name"], TOOL);
    }

    #[tokio::test]
    async fn bedrock_converse_through_the_sdk() {
        let (url, seen) = recorded(200, recording("bedrock_converse.json")).await;
        let conf = aws_sdk_bedrockruntime::Config::builder()
            .behavior_version(aws_sdk_bedrockruntime::config::BehaviorVersion::latest())
            .region(aws_sdk_bedrockruntime::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_bedrockruntime::config::Credentials::new(
                "AKID", "secret", None, None, "test",
            ))
            .endpoint_url(url)
            .build();
        let p = Bedrock {
            client: aws_sdk_bedrockruntime::Client::from_conf(conf),
            model: "anthropic.claude-3-5-sonnet-20240620-v1:0".into(),
        };
        let out = extract(&short_form(), Some(&p)).await;
        assert_eq!(
            (out.provider, out.fallback.as_deref()),
            (ProviderKind::Bedrock, None),
            "{:?}",
            out.fallback
        );
        assert_eq!(out.extraction.text("submitter_name"), Some("Jane Roe"));
        let s = seen.lock().unwrap()[0].clone();
        assert!(s.path.ends_with("/converse"), "{}", s.path);
        assert_eq!(s.body["toolConfig"]["toolChoice"]["tool"]["name"], TOOL);
        assert!(
            s.body["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]["properties"]["fields"].is_object()
        );
    }

    #[tokio::test]
    async fn a_malformed_or_failed_answer_falls_back_to_offline_and_says_why() {
        let (url, _) = recorded(200, recording("anthropic_malformed.json")).await;
        let p = anthropic(url, "k");
        let out = extract(&short_form(), Some(&p)).await;
        assert_eq!(out.provider, ProviderKind::Offline);
        assert!(
            out.fallback.as_deref().unwrap().contains("not usably"),
            "{:?}",
            out.fallback
        );
        assert_eq!(out.extraction.text("submitter_email"), Some("jane.roe@lab.example.org"));
        let (url, _) = recorded(529, recording("anthropic_overloaded.json")).await;
        let p = anthropic(url, "sk-secret-key");
        let out = extract(&short_form(), Some(&p)).await;
        let why = out.fallback.unwrap();
        assert!(why.contains("529") && why.contains("Overloaded"), "{why}");
        assert!(!why.contains("sk-secret-key"));
        let (url, _) = recorded(200, recording("openai_not_json.json")).await;
        let p = openai(url);
        assert_eq!(
            extract(&short_form(), Some(&p)).await.fallback.as_deref(),
            Some("openai's function arguments are not JSON")
        );
    }

    #[tokio::test]
    async fn a_question_is_answered_in_prose_from_the_lines_it_cites() {
        let doc = short_form();
        let (url, seen) = recorded(200, recording("anthropic_answer.json")).await;
        let a = ask(&doc, "What is the submitter's email?", Some(&anthropic(url, "k"))).await;
        assert_eq!((a.provider, a.fallback.as_deref()), (ProviderKind::Anthropic, None));
        assert!(a.answer.contains("jane.roe@lab.example.org"));
        assert_eq!(a.lines, [2]);
        let s = seen.lock().unwrap()[0].clone();
        assert_eq!(s.body["tool_choice"]["name"], llm::ANSWER_TOOL);
        assert_eq!(s.body["tools"][0]["name"], llm::ANSWER_TOOL);
        assert!(
            s.body["messages"][0]["content"]
                .as_str()
                .unwrap()
                .contains("[passage 2] Email: jane.roe@lab.example.org")
        );
        // A passage it was never given: the offline quotes instead, and why.
        let (url, _) = recorded(200, recording("anthropic_answer_uncited.json")).await;
        let a = ask(&doc, "What is the submitter's email?", Some(&anthropic(url, "k"))).await;
        assert_eq!(a.provider, ProviderKind::Offline);
        assert!(a.fallback.unwrap().contains("not given"));
        assert!(a.answer.contains("Email: jane.roe@lab.example.org"), "{}", a.answer);
    }
}
