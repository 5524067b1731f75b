namespace FastMta.Smtp;

public enum DataStatus
{
    NeedMoreData,
    Complete,
}
