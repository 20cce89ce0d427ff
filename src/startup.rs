//! The application: bind first (so port 0 works), then serve. The binary and the tests start it
//! the same way.

use std::net::TcpListener;

use actix_web::dev::Server;
use std::sync::Arc;

use actix_web::http::KeepAlive;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use anyhow::Context;

use crate::cluster::Cluster;
use crate::config::Settings;
use crate::connector::Connectors;
use crate::connector_secrets::ConnectorSecrets;
use crate::documents::layouts::{self, Layout};
use crate::documents::templates::Installer;
use crate::documents::{repair, Store};
use crate::http::authorization::Authorization;
use crate::http::{configure, middleware::conventions, State};
use crate::metrics::Metrics;
use crate::passthrough::Passthrough;
use crate::sync_job::SyncJobs;

pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    pub fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.listen).map_err(|err| {
            let fix = match err.kind() {
                std::io::ErrorKind::AddrInUse => {
                    ": another program listens there; stop it or choose another address with --listen"
                }
                std::io::ErrorKind::PermissionDenied => {
                    ": ports below 1024 need privileges; choose a port of 1024 or more with --listen"
                }
                _ => "",
            };
            anyhow::Error::new(err).context(format!("cannot listen on {}{fix}", settings.listen))
        })?;
        // Accepted connections inherit it: a client that vanished without closing its connection
        // is found out by the operating system, since idle connections are otherwise kept.
        socket2::SockRef::from(&listener)
            .set_keepalive(true)
            .context("cannot turn TCP keep-alive on for the listening socket")?;
        let address = listener
            .local_addr()
            .context("cannot read the listening address")?;
        let metrics = Arc::new(Metrics::new());
        let cluster = Cluster::connect(&settings, metrics.clone())?;
        log::info!(
            "listening on http://{address}, cluster [{}], indices [{}, {}], update strategy {:?}, refresh {:?}",
            cluster.describe(),
            settings.connectors_index,
            settings.sync_jobs_index,
            settings.update_strategy,
            settings.refresh
        );
        let store = Arc::new(Store::new(cluster, &settings));
        let jobs_layout = Layout::new(layouts::SYNC_JOBS, &settings.sync_jobs_index);
        let connectors_layout = Layout::new(layouts::CONNECTORS, &settings.connectors_index);
        let setup = Arc::new(Installer::new(
            store.clone(),
            all_layouts(&settings),
            settings.ingest_pipeline,
        ));
        if settings.install_templates {
            // Installs the index templates and the pipeline now and checks them from then on.
            tokio::spawn(setup.clone().run());
        } else {
            setup.disable();
            log::info!(
                "install_templates is off: the index templates and the ingest pipeline are left to others"
            );
        }
        let authorization = Arc::new(Authorization::new(&settings)?);
        tokio::spawn({
            let (authorization, store) = (authorization.clone(), store.clone());
            async move { authorization.settle(store.cluster()).await }
        });
        let state = web::Data::new(State {
            jobs: SyncJobs::new(store.clone(), jobs_layout.clone(), connectors_layout.clone()),
            connectors: Connectors::new(store.clone(), connectors_layout, jobs_layout),
            secrets: ConnectorSecrets::new(store.clone()),
            store,
            setup,
            max_body_size: settings.max_body_size,
            authorization,
        });
        let passthrough = Passthrough::connect(&settings, state.store.cluster().trust(), metrics.clone())?
            .map(web::Data::new);
        match &settings.passthrough {
            Some(on) => log::info!(
                "pass-through on: requests the service does not serve go to the cluster, timeout {}",
                on.timeout
                    .map_or("none".to_owned(), |timeout| format!("{timeout:?}"))
            ),
            None => log::info!("pass-through off: requests the service does not serve answer 404"),
        }
        let metrics = web::Data::from(metrics);
        let server = HttpServer::new(move || {
            let app = App::new()
                .wrap(from_fn(conventions))
                .app_data(state.clone())
                .app_data(metrics.clone());
            // Its presence turns pass-through on (the default service reads it).
            let app = match &passthrough {
                Some(passthrough) => app.app_data(passthrough.clone()),
                None => app,
            };
            app.configure(configure)
        })
        .client_request_timeout(settings.client_timeout)
        .keep_alive(match settings.client_idle_timeout {
            Some(timeout) => KeepAlive::Timeout(timeout),
            // No timer of the service's own: the connection lasts until the client closes it or
            // TCP keep-alive finds it dead.
            None => KeepAlive::Os,
        })
        .shutdown_timeout(settings.shutdown_grace.as_secs().max(1))
        .workers(settings.workers)
        .listen(listener)
        .context("cannot start the HTTP server")?
        .run();
        Ok(Self {
            port: address.port(),
            server,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Every connector index the service uses, the connectors' first: the layouts its templates are
/// built from and `--repair` repairs.
fn all_layouts(settings: &Settings) -> Vec<Layout> {
    vec![
        Layout::new(layouts::CONNECTORS, &settings.connectors_index),
        Layout::new(layouts::SYNC_JOBS, &settings.sync_jobs_index),
        Layout::new(
            layouts::INDEX_NAMES,
            &layouts::index_names_alias(&settings.connectors_index),
        ),
    ]
}

/// `--repair`: installs the templates, then repairs each connector index that exists without its
/// layout, then checks the templates again (a template whose alias an index of that name holds
/// can only be installed once the repair has moved that index away); what was done goes to the
/// log. Fails when something could not be repaired or installed.
pub async fn repair_indices(settings: Settings) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::new());
    let store = Arc::new(Store::new(Cluster::connect(&settings, metrics)?, &settings));
    let setup = Installer::new(store.clone(), all_layouts(&settings), settings.ingest_pipeline);
    let unreachable =
        |err: crate::error::ApiError| anyhow::anyhow!("the cluster cannot be reached: {}", err.body());
    setup.check().await.map_err(unreachable)?;
    for layout in all_layouts(&settings) {
        let steps = repair::repair(store.cluster(), &layout)
            .await
            .with_context(|| format!("repairing {} failed", layout.concrete_index()))?;
        for step in steps {
            log::info!("repair: {step}");
        }
    }
    setup.check().await.map_err(unreachable)?;
    let report = setup.report();
    if !report.templates_in_place() || !report.bare_indices.is_empty() {
        anyhow::bail!(
            "the indices were repaired, but not everything is in place: {}",
            report.to_json()
        );
    }
    Ok(())
}
