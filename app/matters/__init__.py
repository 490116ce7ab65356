"""The matter catalog (事项目录): each matter's public record, loaded from processes/<dept>/<code>.yaml."""
