package views

// ListExports are the CSV exports' links, carrying the list's filters.
type ListExports struct {
	Consents, Payments, Refunds string
	// Filtered says that the list is filtered, so the exports are too.
	Filtered bool
}
