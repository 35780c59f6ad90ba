// Package secretscan finds secrets in what tests capture: function logs, error bodies, the local
// run's output. It looks for anything shaped like an API key (the documented pattern), anything
// shaped like a session JWT, and the key ring's material, and counts what it scanned so a suite
// can say how much it held to "no secret in logs or errors".
package secretscan
