"""The activity API the LMS pushes to, with its input serializers at the edge."""
