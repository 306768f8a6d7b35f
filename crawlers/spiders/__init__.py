"""One spider module per source kind; `base.MentionSpider` holds what they all share."""
