"""Discovery: scheduled shows' calendar files and the search over products and rooms."""
