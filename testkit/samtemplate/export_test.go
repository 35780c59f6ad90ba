package samtemplate

// The helpers that read a raw template, for the checks in template_test.go.
var (
	Obj    = obj
	List   = list
	GetAtt = getAtt
)
