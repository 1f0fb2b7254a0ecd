//! The demo's fallback: a private PostgreSQL cluster under a directory of ours, started with
//! the machine's binaries (as the `postgres` user when running as root).

use crate::load_support::scalar;
use crate::pg_cluster;

use cvdw_cli::pg_local::{pg_bin, start_private_cluster, stop_private_cluster, PRIVATE_PORT};

#[tokio::test]
async fn private_cluster_starts_accepts_connections_and_stops() {
    if pg_bin("initdb").is_none() {
        return pg_cluster::missing(
            "private_cluster_starts_accepts_connections_and_stops",
            "no PostgreSQL server binaries (initdb) on this machine",
        );
    }
    let dir = tempfile::Builder::new()
        .prefix("cvdw-pg-")
        .tempdir_in("/tmp")
        .unwrap();
    let pg_dir = dir.path().join("pg");
    start_private_cluster(&pg_dir).expect("cluster starts");
    // Starting again while it runs is a no-op.
    start_private_cluster(&pg_dir).expect("second start is a no-op");
    let conn = format!("host=127.0.0.1 port={PRIVATE_PORT} user=postgres dbname=postgres");
    let (client, connection) = tokio_postgres::connect(&conn, tokio_postgres::NoTls)
        .await
        .expect("connects");
    tokio::spawn(connection);
    let one: i32 = scalar(&client, "SELECT 1", &[]).await;
    assert_eq!(one, 1);
    drop(client);
    stop_private_cluster(&pg_dir).expect("cluster stops");
}
