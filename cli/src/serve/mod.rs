//! `kompas serve`: the local web app where policy workers do their work.
//!
//! An axum server on 127.0.0.1 inside the `kompas` binary. It owns the data directory while it
//! runs, like `kompas sync --watch`, and runs that continuous sync itself on a thread of its
//! own, lending the directory to other kompas commands when they ask. Pages are rendered on the
//! server from askama templates (`cli/templates/`); every action is a plain form, and the one
//! script only adds live updates. `security.rs` keeps other users and web pages out. Reminder
//! mail goes out from a thread of its own (`reminders::schedule`).

mod actions;
mod assets;
mod choice;
mod conversation;
pub(crate) mod dates;
mod documents;
mod error;
mod figures;
mod figures_import;
mod flows;
mod form;
mod guidance;
mod live;
mod overview;
mod page;
mod partnership;
mod publish_file;
mod rapport;
mod saving;
mod security;
mod state;
mod uploads;

#[cfg(test)]
mod choice_tests;
#[cfg(test)]
mod pages_tests;
#[cfg(test)]
mod partnership_tests;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::args::{Global, ServeArgs};
use crate::commands::sync::{Watching, watch_in};
use crate::lending::Lending;
use crate::stop::Stop;
pub use state::AppState;
use state::SyncHost;

/// How often the server looks whether the sync thread opened the data directory, stopped, or
/// a stop came.
const OPEN_LOOK: Duration = Duration::from_millis(100);

/// The web app's routes, behind the security checks.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(overview::overview))
        .route(
            "/login",
            get(security::login_page).post(security::login_form),
        )
        .route("/documenten", get(documents::list))
        .route(
            "/documenten/nieuw",
            get(documents::new_form).post(documents::create),
        )
        .route("/documenten/{id}", get(documents::page))
        .route(
            "/documenten/{id}/bewerken",
            get(documents::edit_form).post(documents::save),
        )
        .route("/documenten/{id}/geschiedenis", get(documents::history))
        .route("/werkstromen", get(flows::list))
        .route("/werkstromen/nieuw", post(flows::start))
        .route("/werkstromen/{id}", get(flows::page).post(flows::act))
        .route("/verbeteracties", get(actions::list))
        .route("/gesprekken", get(conversation::list))
        .route("/gesprekken/nieuw", post(conversation::create))
        .route(
            "/gesprekken/{id}",
            get(conversation::page).post(conversation::save),
        )
        .route("/samenwerking", get(partnership::page))
        .route("/samenwerking/kiezen", post(choice::choose))
        .route("/samenwerking/uitnodigen", post(partnership::invite))
        .route("/samenwerking/intrekken", post(partnership::revoke))
        .route("/samenwerking/bevestigen", post(partnership::confirm))
        .route("/samenwerking/weigeren", post(partnership::refuse))
        .route(
            "/samenwerking/verwijderen",
            get(partnership::remove_page).post(partnership::remove),
        )
        .route("/samenwerking/publiceren", post(partnership::publish))
        .route(
            "/samenwerking/publiceren-bestand",
            post(publish_file::publish_file),
        )
        .route("/cijfers", get(figures::list))
        .route("/cijfers/{name}", get(figures::indicator))
        .route(
            "/inlezen",
            get(figures_import::form).post(figures_import::upload),
        )
        .route("/inlezen/voorbeeld", post(figures_import::again))
        .route("/inlezen/bevestigen", post(figures_import::confirm))
        .route("/live", get(live::events))
        .route("/assets/{name}", get(assets::asset))
        .merge(rapport::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(security::UPLOAD_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::guard,
        ))
        .with_state(state)
}

async fn not_found() -> error::AppError {
    error::AppError::NotFound("Deze pagina bestaat niet.".into())
}

/// Runs the web app until Ctrl-C or SIGTERM. The server and its sync thread go by one stop,
/// caught before the thread starts, so a signal at any moment ends both.
pub fn run(global: &Global, args: ServeArgs) -> anyhow::Result<()> {
    let stop = Stop::process()?;
    let listener = std::net::TcpListener::bind(("127.0.0.1", args.port))
        .with_context(|| format!("kan niet luisteren op 127.0.0.1:{}", args.port))?;
    listener.set_nonblocking(true)?;
    let port = listener.local_addr()?.port();
    // Every samenwerking is served; `--samenwerking` names the one a new session sees first.
    let preferred = match global.samenwerking.as_deref() {
        Some(wanted) => Some(crate::partnerships::choose(
            &crate::context::lock(&global.data)?,
            Some(wanted),
        )?),
        None => None,
    };
    let lending = Arc::new(Lending::default());
    let state = AppState::new(lending.clone(), security::fresh_token(), port, preferred);

    let sync = {
        let global = Global {
            samenwerking: None,
            ..global.clone()
        };
        let lending = lending.clone();
        let mut host = SyncHost::new(state.clone(), lending.clone());
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("kompas-sync".into())
            .spawn(move || {
                let watching = Watching {
                    limit: None,
                    progress: false,
                    without_workspace: true,
                };
                watch_in(&global, watching, &stop, &lending, &mut host)
            })?
    };
    // The data directory is opened by the sync thread; a directory that cannot be used is
    // reported before anything is served, and a stop while it opens ends both.
    while lending.all(OPEN_LOOK).is_none() {
        if sync.is_finished() || stop.is_raised() {
            return match sync.join() {
                Ok(result) => result.map(|_| ()),
                Err(_) => Err(anyhow::anyhow!("de synchronisatie stopte onverwacht")),
            };
        }
    }

    // Reminder mail, when `herinneringen.toml` is there; stops with the server.
    let _reminders = crate::reminders::schedule::start(lending.clone())?;

    let url = format!("http://127.0.0.1:{port}/login?token={}", state.token());
    println!("kompas serve: de webapp draait op http://127.0.0.1:{port}/");
    println!("Open deze link om in te loggen (alleen op deze computer): {url}");
    println!("Stoppen met Ctrl-C.");
    if args.open
        && let Err(e) = open::that(&url)
    {
        eprintln!("kompas serve: de browser openen lukte niet ({e}); open de link zelf.");
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        tokio::select! {
            served = axum::serve(listener, app(state)) => served.context("de webapp stopte"),
            _ = stop.raised() => Ok(()),
        }
    })?;
    runtime.shutdown_timeout(Duration::from_secs(1));
    match sync.join() {
        Ok(result) => result.map(|_| ()),
        Err(_) => Err(anyhow::anyhow!("de synchronisatie stopte onverwacht")),
    }
}
