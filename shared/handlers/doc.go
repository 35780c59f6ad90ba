// Package handlers holds the logic of every route, one constructor per Lambda function. Each
// takes the shared dependencies and returns a Lambda handler that answers every HTTP outcome as
// a response.
package handlers
