//! Topic creation through the admin API: create-or-update the topic on every master
//! broker of the cluster, then wait until the name server serves its route.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use cheetah_string::CheetahString;
use rocketmq_client_rust::AclClientRPCHook;
use rocketmq_client_rust::ClientRuntime;
use rocketmq_client_rust::DefaultMQAdminExt;
use rocketmq_client_rust::RouteAdmin;
use rocketmq_client_rust::SessionCredentials;
use rocketmq_client_rust::TopicAdmin;
use rocketmq_model::topic::TopicConfig;
use tokio::time::Instant;

use crate::boxed::boxed;
use crate::boxed::BoxFut;
use crate::config::MqConfig;
use crate::error::MqError;

/// Broker id of a master.
pub(crate) const MASTER_ID: u64 = 0;
/// `PermName.PERM_READ | PermName.PERM_WRITE`.
const PERM_READ_WRITE: u32 = 4 | 2;
/// Most queues per broker accepted by `ensure_topic`.
pub const MAX_QUEUES: u32 = 1024;

/// The ACL hook for the configured credentials, if any.
pub(crate) fn acl_hook(cfg: &MqConfig) -> Option<Arc<AclClientRPCHook>> {
    match (&cfg.access_key, &cfg.secret_key) {
        (Some(ak), Some(sk)) => Some(Arc::new(AclClientRPCHook::new(
            SessionCredentials::with_keys(ak.as_str(), sk.as_str()),
        ))),
        _ => None,
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Awaits `fut` for at most `limit`, mapping client errors and timeouts.
async fn bounded<T>(
    operation: &'static str,
    limit: Duration,
    fut: BoxFut<'_, rocketmq_client_rust::ClientResult<T>>,
) -> Result<T, MqError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(MqError::from_client(operation, &e)),
        Err(_) => Err(MqError::Timeout {
            operation,
            after: limit,
        }),
    }
}

/// A started admin client.
pub(crate) struct Admin {
    ext: DefaultMQAdminExt,
    timeout: Duration,
}

impl Admin {
    /// Builds and starts an admin client on `runtime`.
    pub(crate) async fn start(
        cfg: &MqConfig,
        runtime: Arc<ClientRuntime>,
    ) -> Result<Admin, MqError> {
        let mut ext = match acl_hook(cfg) {
            Some(hook) => {
                DefaultMQAdminExt::with_rpc_hook_and_timeout(runtime, hook, cfg.admin_timeout)
            }
            None => DefaultMQAdminExt::with_timeout(runtime, cfg.admin_timeout),
        };
        ext.set_namesrv_addr(cfg.namesrv_list());
        ext.set_use_tls(cfg.use_tls);
        bounded("admin start", cfg.admin_timeout, boxed(ext.start())).await?;
        Ok(Admin {
            ext,
            timeout: cfg.admin_timeout,
        })
    }

    /// Stops the admin client.
    pub(crate) async fn shutdown(mut self) {
        let _ = tokio::time::timeout(self.timeout, boxed(self.ext.shutdown())).await;
    }

    /// Write queue count per broker name of `topic`'s current route (empty when the
    /// topic is unknown to the name server).
    async fn route_queues(&self, topic: &str) -> HashMap<String, u32> {
        let route = tokio::time::timeout(
            self.timeout,
            boxed(
                self.ext
                    .examine_topic_route_info(CheetahString::from(topic)),
            ),
        )
        .await;
        match route {
            Ok(Ok(Some(route))) => route
                .queue_datas
                .iter()
                .map(|q| (q.broker_name().to_string(), q.write_queue_nums()))
                .collect(),
            _ => HashMap::new(),
        }
    }

    /// Messages ever stored in `topic` on every master broker (the sum of the queues' max
    /// offsets: messages deleted since by retention still count).
    pub(crate) async fn stored_message_count(&self, topic: &str) -> Result<u64, MqError> {
        let stats = bounded(
            "examine topic stats",
            self.timeout,
            boxed(
                self.ext
                    .examine_topic_stats(CheetahString::from(topic), None),
            ),
        )
        .await?;
        Ok(stats
            .get_offset_table()
            .values()
            .map(|o| u64::try_from(o.get_max_offset()).unwrap_or(0))
            .sum())
    }

    /// Creates `topic` with `queues` read/write queues on every master broker, never
    /// shrinking an existing topic, then waits until the name server serves the route.
    pub(crate) async fn ensure_topic(&self, topic: &str, queues: u32) -> Result<(), MqError> {
        let cluster = bounded(
            "examine broker cluster",
            self.timeout,
            boxed(self.ext.examine_broker_cluster_info()),
        )
        .await?;
        let masters: Vec<(String, CheetahString)> = cluster
            .broker_addr_table
            .iter()
            .flatten()
            .filter_map(|(name, data)| {
                data.broker_addrs()
                    .get(&MASTER_ID)
                    .map(|addr| (name.to_string(), addr.clone()))
            })
            .collect();
        if masters.is_empty() {
            return Err(MqError::Unavailable(
                "the name server knows no master broker".into(),
            ));
        }

        let existing = self.route_queues(topic).await;
        for (broker, addr) in &masters {
            let current = existing.get(broker).copied().unwrap_or(0);
            if current >= queues {
                continue;
            }
            let config = TopicConfig {
                topic_name: Some(CheetahString::from(topic)),
                read_queue_nums: queues,
                write_queue_nums: queues,
                perm: PERM_READ_WRITE,
                ..TopicConfig::default()
            };
            bounded(
                "create topic",
                self.timeout,
                boxed(
                    self.ext
                        .create_and_update_topic_config(addr.clone(), config),
                ),
            )
            .await?;
            tracing::info!(topic, broker = %broker, queues, "created or updated RocketMQ topic");
        }

        // The broker registers the new topic with the name server; wait for the route.
        let deadline = Instant::now() + self.timeout;
        loop {
            let route = self.route_queues(topic).await;
            if masters
                .iter()
                .all(|(broker, _)| route.get(broker).copied().unwrap_or(0) >= queues)
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(MqError::Timeout {
                    operation: "waiting for the new topic's route",
                    after: self.timeout,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Milliseconds of a duration, saturated to `u32` (the client's timeout type).
pub(crate) fn ms_u32(d: Duration) -> u32 {
    u32::try_from(ms(d)).unwrap_or(u32::MAX)
}
