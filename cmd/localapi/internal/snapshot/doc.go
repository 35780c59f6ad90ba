// Package snapshot keeps the local run's data across restarts: it saves every item of the table
// and the key ring's current value to a file, and restores them into a freshly provisioned
// emulator (moto server keeps its state in memory only).
package snapshot
