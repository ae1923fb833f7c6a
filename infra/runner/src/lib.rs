//! The TracSeq local stack: moto as the in-memory AWS, and this runner serving the HTTP API
//! and the AWS edge, running our functions in-process, exactly as template.yaml wires them.
//!
//! [`LocalStack::start`] does everything `make dev` needs: start moto, create the template's
//! resources, build every function, check template and code agree, serve the API and the
//! edge, start the SQS/stream pollers and schedules, and seed the local admin.

pub mod api;
pub mod catalog;
pub mod edge;
pub mod functions;
pub mod moto;
pub mod net;
pub mod pollers;
pub mod resources;
pub mod schedule;
pub mod seed;
pub mod template;
pub mod web;

use aws_config::SdkConfig;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracseq_aws::FunctionDef;

#[derive(Debug, Clone)]
pub struct Config {
    /// Root template (nested ones are followed from it).
    pub templates: Vec<PathBuf>,
    pub api_port: u16,
    pub edge_port: u16,
    pub moto_port: u16,
    /// The project venv holding `moto_server`.
    pub venv: PathBuf,
    pub prefix: String,
    pub region: String,
    /// Apply the template's API throttling (on by default, as in AWS).
    pub throttle: bool,
    pub seed: bool,
    /// Override the template's API throttling (rate per second, burst); tests use it.
    pub throttle_limits: Option<(f64, f64)>,
    /// Environment variables set on every function after the template's (tests use it).
    pub env_overrides: HashMap<String, String>,
    /// Root template parameter values (`Stage=local` by default).
    pub parameters: HashMap<String, String>,
    /// The built web app, served at `/` beside the API when its `index.html` exists.
    pub web_dir: PathBuf,
    /// Follow the table's stream (events publisher, reports). A test that only measures
    /// writes turns it off, so tens of thousands of events are not folded for nothing.
    pub stream_readers: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            templates: vec![PathBuf::from("template.yaml")],
            api_port: 3000,
            edge_port: 4566,
            moto_port: 4567,
            venv: PathBuf::from(".venv"),
            prefix: "tracseq".into(),
            region: "us-east-1".into(),
            throttle: true,
            seed: true,
            throttle_limits: None,
            env_overrides: HashMap::new(),
            parameters: HashMap::from([("Stage".to_owned(), "local".to_owned())]),
            web_dir: PathBuf::from("web/dist"),
            stream_readers: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error(transparent)]
    Template(#[from] template::TemplateError),
    #[error(transparent)]
    Moto(#[from] moto::MotoError),
    #[error(transparent)]
    Resource(#[from] resources::ResourceError),
    #[error(transparent)]
    Load(#[from] functions::LoadError),
    #[error("{0}")]
    Api(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("seeding failed: {0}")]
    Seed(#[from] seed::SeedError),
}

/// Load and merge the configured templates into one model.
pub fn load_model(config: &Config, moto_url: &str) -> Result<template::Model, RunnerError> {
    let naming = template::Naming {
        prefix: config.prefix.clone(),
        region: config.region.clone(),
        sqs_base: moto_url.to_owned(),
    };
    let mut model = template::Model::default();
    for path in &config.templates {
        let m = template::model(&template::Stack::load(path, "")?, &naming, &config.parameters)?;
        model.functions.extend(m.functions);
        model.routes.extend(m.routes);
        model.resources.extend(m.resources);
        model.cors = model.cors.or(m.cors);
        model.throttle = model.throttle.or(m.throttle);
    }
    Ok(model)
}

pub struct LocalStack {
    pub api_url: String,
    pub edge_url: String,
    pub moto_url: String,
    /// SDK configuration pointing at moto, for tests and tools.
    pub sdk: SdkConfig,
    pub model: Arc<template::Model>,
    pub functions: Arc<functions::Functions>,
    /// Physical table name by logical id.
    pub tables: HashMap<String, String>,
    /// Queue URL by logical id.
    pub queues: HashMap<String, String>,
    pub buckets: HashMap<String, String>,
    /// The demo lab created by the seed on this start, if any.
    pub seeded_lab: Option<String>,
    moto: moto::Moto,
    stop: watch::Sender<bool>,
}

async fn bind(port: u16) -> Result<(TcpListener, u16), RunnerError> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let l = TcpListener::bind(addr)
        .await
        .map_err(|source| RunnerError::Bind { addr, source })?;
    let port = l
        .local_addr()
        .map_err(|source| RunnerError::Bind { addr, source })?
        .port();
    Ok((l, port))
}

fn serve<F, Fut>(listener: TcpListener, mut stop: watch::Receiver<bool>, handler: F)
where
    F: Fn(hyper::Request<hyper::body::Incoming>, SocketAddr) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<
            Output = Result<hyper::Response<http_body_util::Full<bytes::Bytes>>, std::convert::Infallible>,
        > + Send
        + 'static,
{
    tokio::spawn(async move {
        loop {
            let (stream, remote) = tokio::select! {
                r = listener.accept() => match r { Ok(x) => x, Err(_) => continue },
                _ = stop.changed() => return,
            };
            let _ = stream.set_nodelay(true);
            let handler = handler.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| handler(req, remote));
                let _ = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
}

impl LocalStack {
    /// Start everything. Port 0 picks a free port (tests run several stacks at once).
    pub async fn start(config: Config, catalog: Vec<FunctionDef>) -> Result<Self, RunnerError> {
        let (api_listener, api_port) = bind(config.api_port).await?;
        let (edge_listener, edge_port) = bind(config.edge_port).await?;
        let moto_port = if config.moto_port == 0 {
            free_port()?
        } else {
            config.moto_port
        };
        let moto = moto::Moto::start(&config.venv, moto_port, edge_port).await?;
        let moto_url = moto.url();
        let sdk = tracseq_aws::clients::local(&moto_url, &config.region).await;
        let mut model = load_model(&config, &moto_url)?;
        if config.throttle_limits.is_some() {
            model.throttle = config.throttle_limits;
        }
        let queues = resources::create_all(&sdk, &model).await?;
        let physical = |kind: &str| -> HashMap<String, String> {
            model
                .resources
                .iter()
                .filter(|r| r.kind == kind)
                .map(|r| (r.logical_id.clone(), r.physical.clone()))
                .collect()
        };
        let (tables, buckets) = (physical("AWS::DynamoDB::Table"), physical("AWS::S3::Bucket"));
        let extra_env = HashMap::from([
            ("AWS_REGION".to_owned(), config.region.clone()),
            ("AWS_DEFAULT_REGION".to_owned(), config.region.clone()),
            ("AWS_ENDPOINT_URL".to_owned(), moto_url.clone()),
            // Lambda's Invoke runs our own functions: that is the edge, not moto.
            (
                "AWS_ENDPOINT_URL_LAMBDA".to_owned(),
                format!("http://127.0.0.1:{edge_port}"),
            ),
            // Only here may outbound messages reach loopback (the tests' receivers); every
            // deployed function keeps the strict default.
            ("OUTBOUND_URL_POLICY".to_owned(), "allow-local".to_owned()),
        ]);
        for spec in model.functions.values_mut() {
            spec.env.extend(config.env_overrides.clone());
        }
        let functions = Arc::new(functions::Functions::load(&model, &catalog, &sdk, &extra_env).await?);
        // What a deploy does once the stack is up: create the first signing key (only the
        // rotation function may write keys; the functions that sign only read them).
        let rotation: Vec<_> = functions
            .all()
            .filter(|f| f.spec.handler == "auth_rotate_keys")
            .cloned()
            .collect();
        for f in rotation {
            functions::invoke(&f, serde_json::json!({ "if_missing": true }))
                .await
                .map_err(|e| RunnerError::Api(format!("creating the first signing key: {e}")))?;
        }
        // Seed before the API answers: a client that sees /api/health up can log in.
        let mut seeded_lab = None;
        if config.seed
            && let Some(table) = tables.get("Table")
        {
            let t = tracseq_aws::Table::new(aws_sdk_dynamodb::Client::new(&sdk), table.clone());
            seeded_lab = seed::seed(&t).await?;
        }
        let (stop, stop_rx) = watch::channel(false);
        let mut api = api::Api::new(&model, &functions, config.throttle).map_err(RunnerError::Api)?;
        // Presigned uploads go to moto's S3 directly (AWS_ENDPOINT_URL of the functions).
        api.site = web::Site::open(&config.web_dir, &moto_url);
        if api.site.is_none() {
            tracing::info!(dir = %config.web_dir.display(), "no built web app; serving the API only");
        }
        let api = Arc::new(api);
        serve(api_listener, stop_rx.clone(), move |req, remote| {
            api.clone().handle(req, remote)
        });
        let schedules = Arc::new(schedule::Schedules {
            region: config.region.clone(),
        });
        let edge = Arc::new(edge::Edge {
            functions: functions.clone(),
            moto_url: moto_url.clone(),
            schedules: schedules.clone(),
        });
        serve(edge_listener, stop_rx.clone(), move |req, _| edge.clone().handle(req));
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let streams = if config.stream_readers {
            tables.clone()
        } else {
            HashMap::new()
        };
        pollers::start_all(&functions, &sqs, &queues, &streams, &moto_url, &config.region, &stop_rx);
        schedules.start(&functions, &stop_rx);
        Ok(Self {
            api_url: format!("http://127.0.0.1:{api_port}"),
            edge_url: format!("http://127.0.0.1:{edge_port}"),
            moto_url,
            sdk,
            model: Arc::new(model),
            functions,
            tables,
            queues,
            buckets,
            seeded_lab,
            moto,
            stop,
        })
    }

    /// Kill moto while the runner keeps serving (to see dependencies fail).
    pub async fn stop_moto(&mut self) {
        self.moto.stop().await;
    }

    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        self.moto.stop().await;
    }
}

fn free_port() -> Result<u16, RunnerError> {
    let addr = SocketAddr::from(([127, 0, 0, 1], 0));
    let l = std::net::TcpListener::bind(addr).map_err(|source| RunnerError::Bind { addr, source })?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|source| RunnerError::Bind { addr, source })
}
