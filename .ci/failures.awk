# Prints each failed test of a JUnit report (bun's) as "file: test — message", one line each.
# The console names a failing top-level hook only "(unnamed)"; the report says which file it was in.

# XML attribute text as plain text (bun writes newlines in messages as &#10;).
function text(s) {
	gsub(/&#10;/, " ", s)
	gsub(/&quot;/, "\"", s)
	gsub(/&apos;/, "'", s)
	gsub(/&lt;/, "<", s)
	gsub(/&gt;/, ">", s)
	gsub(/&amp;/, "\\&", s)
	return s
}

function attribute(line, name) {
	if (!match(line, " " name "=\"[^\"]*\"")) return ""
	return text(substr(line, RSTART + length(name) + 3, RLENGTH - length(name) - 4))
}

/<testcase / { testcase = $0 }

/<failure/ {
	message = attribute($0, "message")
	# The error comes first and what the test adds (a screenshot, the page's sockets) last: keep both ends.
	if (length(message) > 600) message = substr(message, 1, 300) " … " substr(message, length(message) - 299)
	print "  " attribute(testcase, "file") ": " attribute(testcase, "name") " — " message
}
