"""Who may see and change what: visibility filters, edit rules and the endpoints' deps."""
