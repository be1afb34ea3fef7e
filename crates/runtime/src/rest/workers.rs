//! `GET /workers`: the live workers of the cluster and the tasks assigned to each.

use axum::extract::State;
use axum::Json;

use super::state::AppState;
use crate::herder::ClusterMember;

/// `GET /workers`: every live worker, whether it leads, and its tasks (standalone: this
/// worker and every running task).
#[utoipa::path(
    get,
    path = "/workers",
    tag = "monitoring",
    operation_id = "workers",
    responses((status = 200, description = "The live workers and their assigned tasks", body = Vec<ClusterMember>))
)]
pub async fn list(State(h): State<AppState>) -> Json<Vec<ClusterMember>> {
    Json(h.workers())
}
