// Package samapp reads template.yaml the way SAM deploys it, for the local run: every
// AWS::Serverless::Function with the template's Globals merged in, the HttpApi routes their events
// declare, and the authorizers those routes use. Intrinsic functions are resolved by goformation,
// with the references to the table and the secret pointed at the local emulator's resources.
package samapp
