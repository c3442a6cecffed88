# Only the built-in terraform ruleset: the AWS ruleset plugin is a download
# that CI cannot make.
plugin "terraform" {
  enabled = true
  preset  = "all"
}
