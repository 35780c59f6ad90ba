// Package service reads a function's configuration from its environment and builds what its
// handler needs (AWS clients, the table model, the key ring source) once per cold start.
package service
