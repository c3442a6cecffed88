# Only the built-in terraform ruleset: the AWS ruleset plugin is a download
# that CI cannot make. Local modules are inspected through their calls.
config {
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "all"
}
