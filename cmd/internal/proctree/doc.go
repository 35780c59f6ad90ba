// Package proctree finds the processes descended from a process, by reading /proc, so the local
// run can make sure nothing it started outlives it, and its tests can check that.
package proctree
