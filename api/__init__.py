"""The task API: HTTP only. Routes call taskflow's services; errors become RFC 9457 problem responses."""
