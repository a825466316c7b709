// Package live fans run events out to live clients (the WebSocket connections of the web app).
//
//   - Hub.Run takes every event of the run service's bus (runs.Bus: in process, PostgreSQL or
//     Redis, so the events of runs executed by any process of the deployment) and sends it, encoded
//     once per channel, to the clients subscribed to that channel: "run:<id>" (status, progress
//     and log lines of one run), "runs" (status and progress of every run) and "dashboard"
//     (status changes with the counts of queued and running runs).
//   - A Client has a bounded queue of encoded frames. The hub never waits for a client: one
//     whose queue is full is dropped (Done is closed, Err is ErrSlowClient) and the runs go on.
//     The hub itself reads the bus through a bounded subscription: if it falls behind, events
//     are lost and clients see a gap in the per-run sequence numbers, re-reading the run over REST.
//   - Connect enforces a cap on the clients of one user (ErrTooManyClients).
//
// Who may subscribe is not decided here: the HTTP side authenticates the client and checks the
// permission before it calls Subscribe. The package knows nothing of HTTP or WebSocket.
// Everything is safe for concurrent use.
package live
