//! `tracseq-local`: the local stack's command line.
//!
//! ```text
//! tracseq-local serve  [--api-port 3000] [--edge-port 4566] [--moto-port 4567] [--no-throttle] [--env KEY=VALUE]... [--venv .venv] [--template template.yaml]...
//! tracseq-local routes [--template template.yaml]
//! tracseq-local invoke <FunctionLogicalId> --event <file.json> [--endpoint http://127.0.0.1:4567]
//! tracseq-local restore <date|backup-id> [--target TABLE] [--table TABLE] [--force] [--endpoint URL]
//! ```
//!
//! `restore` runs the template's restore function (the one AWS runs) in-process against
//! the local stack's moto.

use std::path::PathBuf;
use std::process::ExitCode;
use tracseq_runner::{Config, LocalStack, functions, load_model, seed};

const USAGE: &str = "usage: tracseq-local serve [--api-port N] [--edge-port N] [--moto-port N] [--no-throttle] [--no-seed] [--env KEY=VALUE]... [--venv DIR] [--template FILE]...
       tracseq-local routes [--template FILE]...
       tracseq-local invoke <FunctionLogicalId> --event FILE [--endpoint URL] [--template FILE]...
       tracseq-local restore <DATE|BACKUP-ID> [--target TABLE] [--table TABLE] [--force] [--endpoint URL]";

struct Args {
    command: String,
    positional: Vec<String>,
    config: Config,
    event: Option<PathBuf>,
    endpoint: String,
    /// `restore`: the table to write, the backed-up table, and whether a non-empty target is allowed.
    target: Option<String>,
    table: Option<String>,
    force: bool,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let command = argv.next().ok_or(USAGE)?;
    let mut config = Config::default();
    let mut templates = Vec::new();
    let (mut event, mut endpoint, mut positional) = (None, "http://127.0.0.1:4567".to_owned(), Vec::new());
    let (mut target, mut table, mut force) = (None, None, false);
    while let Some(arg) = argv.next() {
        let mut value = |name: &str| argv.next().ok_or(format!("{name} needs a value"));
        let port = |v: String| v.parse::<u16>().map_err(|_| format!("bad port {v}"));
        match arg.as_str() {
            "--api-port" => config.api_port = port(value("--api-port")?)?,
            "--edge-port" => config.edge_port = port(value("--edge-port")?)?,
            "--moto-port" => config.moto_port = port(value("--moto-port")?)?,
            "--venv" => config.venv = PathBuf::from(value("--venv")?),
            "--template" => templates.push(PathBuf::from(value("--template")?)),
            "--event" => event = Some(PathBuf::from(value("--event")?)),
            "--endpoint" => endpoint = value("--endpoint")?,
            "--target" => target = Some(value("--target")?),
            "--table" => table = Some(value("--table")?),
            "--force" => force = true,
            "--no-throttle" => config.throttle = false,
            "--no-seed" => config.seed = false,
            "--env" => {
                let pair = value("--env")?;
                let (k, v) = pair
                    .split_once('=')
                    .ok_or(format!("--env takes KEY=VALUE, not {pair}"))?;
                config.env_overrides.insert(k.to_owned(), v.to_owned());
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other if !other.starts_with('-') => positional.push(other.to_owned()),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    if !templates.is_empty() {
        config.templates = templates;
    }
    // Links in local mail (password reset, invitations) open the local web app.
    config
        .parameters
        .entry("AppUrl".to_owned())
        .or_insert_with(|| format!("http://127.0.0.1:{}", config.api_port));
    Ok(Args {
        command,
        positional,
        config,
        event,
        endpoint,
        target,
        table,
        force,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    tracseq_core::telemetry::init("info,aws_config=warn,aws_smithy_runtime=warn,hyper=warn");
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let result = match args.command.as_str() {
        "serve" => serve(args.config).await,
        "routes" => routes(&args.config),
        "invoke" => invoke(&args).await,
        "restore" => restore(&args).await,
        _ => Err(USAGE.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), String> {
    let stack = LocalStack::start(config, tracseq_runner::catalog::catalog())
        .await
        .map_err(|e| e.to_string())?;
    println!("TracSeq local stack is up");
    println!("  HTTP API   {}/api/health", stack.api_url);
    println!("  OpenAPI    {}/api/openapi.json", stack.api_url);
    println!(
        "  AWS edge   {} (Lambda Invoke API; everything else proxied to moto at {})",
        stack.edge_url, stack.moto_url
    );
    println!(
        "  local admin {} / {} (local only)",
        seed::ADMIN_EMAIL,
        seed::ADMIN_PASSWORD
    );
    println!("Ctrl-C stops everything.");
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    println!("stopping...");
    stack.shutdown().await;
    Ok(())
}

fn routes(config: &Config) -> Result<(), String> {
    let model = load_model(config, "http://127.0.0.1:4567").map_err(|e| e.to_string())?;
    let catalog = tracseq_runner::catalog::catalog();
    let mut rows: Vec<_> = model.routes.iter().collect();
    rows.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
    for r in rows {
        let f = &model.functions[&r.function];
        let access = catalog
            .iter()
            .find(|d| d.handler == f.handler)
            .and_then(|d| d.route)
            .map(|s| format!("{:?}", s.access))
            .unwrap_or_default();
        println!(
            "{:<7} {:<40} {:<24} handler={:<16} access={access}",
            r.method, r.path, r.function, f.handler
        );
    }
    let problems = functions::check_consistency(&model, &catalog);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

async fn invoke(args: &Args) -> Result<(), String> {
    let id = args.positional.first().ok_or("invoke needs a function logical id")?;
    let path = args.event.as_ref().ok_or("invoke needs --event FILE")?;
    let event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?)
            .map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
    invoke_function(args, id, event).await
}

async fn restore(args: &Args) -> Result<(), String> {
    let backup = args.positional.first().ok_or("restore needs a date or backup id")?;
    let mut event = serde_json::json!({"backup": backup, "force": args.force});
    if let Some(t) = &args.target {
        event["target"] = t.as_str().into();
    }
    if let Some(t) = &args.table {
        event["table"] = t.as_str().into();
    }
    invoke_function(args, "RestoreFunction", event).await
}

/// Build one function of the template in-process against `--endpoint` and invoke it.
async fn invoke_function(args: &Args, id: &str, event: serde_json::Value) -> Result<(), String> {
    let model = load_model(&args.config, &args.endpoint).map_err(|e| e.to_string())?;
    let sdk = tracseq_aws::clients::local(&args.endpoint, &args.config.region).await;
    let only = tracseq_runner::template::Model {
        functions: model
            .functions
            .iter()
            .filter(|(k, _)| *k == id)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        ..Default::default()
    };
    if only.functions.is_empty() {
        return Err(format!("no function {id} in the template"));
    }
    let env = std::collections::HashMap::from([("AWS_REGION".to_owned(), args.config.region.clone())]);
    let fns = functions::Functions::build(&only, &tracseq_runner::catalog::catalog(), &sdk, &env)
        .await
        .map_err(|e| e.to_string())?;
    match fns.invoke(id, event).await {
        Ok(v) => {
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            Ok(())
        }
        Err(e) => {
            println!("{}", e.payload());
            Err(e.to_string())
        }
    }
}
