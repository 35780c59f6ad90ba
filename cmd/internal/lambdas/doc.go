// Package lambdas builds the template's functions and runs each one under the AWS Lambda Runtime
// Interface Emulator (RIE), the way Lambda would run it: a bootstrap binary, the function's
// environment, its timeout and memory size, one invocation at a time per execution environment.
// A Pool scales a function out to as many environments as its calls in flight need, up to its
// concurrency, and shuts them down as Lambda does.
package lambdas
